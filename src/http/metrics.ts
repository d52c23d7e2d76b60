// Prometheus metrics (prom-client), one registry per Gatehouse instance: nothing goes to
// prom-client's global default registry, so several instances can share one process (tests).
//
// Every label comes from a closed set: HTTP requests are labelled by the contract's path
// TEMPLATE (`/api/rest/v2/customers/{id}`, never the raw URL, and `unmatched` for every path
// the contract does not have), so no client can create series at will.
import type { RequestHandler } from 'express';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type { AuthEvents, LoginGrant, LoginOutcome, RefreshOutcome } from '../core/events.js';
import type { RateLimitBucket } from '../core/rate-limits.js';
import type { RevokeReason } from '../core/sessions.js';
import { apiDocument } from './openapi.js';

export const UNMATCHED_ROUTE = 'unmatched';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Maps a request path to the contract's path template it matches, or `unmatched`. */
export function routeTemplates(doc: Readonly<Record<string, unknown>> = apiDocument): (path: string) => string {
  const exact = new Map<string, string>();
  const templated: Array<[RegExp, string]> = [];
  for (const template of Object.keys(doc.paths as object)) {
    if (!template.includes('{')) {
      exact.set(template, template);
      continue;
    }
    const source = template
      .split(/\{[^}]+\}/)
      .map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
      .join('[^/]+');
    templated.push([new RegExp(`^${source}/?$`), template]);
  }
  return (path) => {
    const hit = exact.get(path) ?? exact.get(path.endsWith('/') ? path.slice(0, -1) : path);
    if (hit) return hit;
    for (const [re, template] of templated) if (re.test(path)) return template;
    return UNMATCHED_ROUTE;
  };
}

export class Metrics implements AuthEvents {
  readonly registry = new Registry();
  readonly #requests = this.#counter('gatehouse_http_requests_total', 'HTTP requests answered, by contract path template, method and status.', ['route', 'method', 'status']);
  readonly #latency = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time from receiving a request to finishing its answer, by contract path template, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly #logins = this.#counter('gatehouse_logins_total', 'Login attempts (password and service principal grants), by dialect, grant and outcome.', ['dialect', 'grant', 'outcome']);
  readonly #refreshes = this.#counter(
    'gatehouse_refreshes_total',
    'Token refreshes, by dialect and outcome (replay: a rotated refresh token used again, which revokes its session).',
    ['dialect', 'outcome'],
  );
  readonly #rateLimited = this.#counter('gatehouse_rate_limited_total', 'Requests refused by a rate limit, by bucket.', ['bucket']);
  readonly #rateLimitFallbacks = this.#counter(
    'gatehouse_rate_limit_fallbacks_total',
    "Rate-limit attempts counted in this instance's memory because the shared counters (PostgreSQL) failed or did not answer in time, by bucket: while it grows, limits hold per instance only.",
    ['bucket'],
  );
  readonly #revoked = this.#counter('gatehouse_sessions_revoked_total', 'Sessions revoked, by reason.', ['reason']);
  readonly #batchesRetried = this.#counter(
    'gatehouse_store_batches_retried_total',
    'Batched writes (PostgreSQL) that the server refused as a whole, so that each write was retried alone, by kind of write.',
    ['write'],
  );
  readonly #route = routeTemplates();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  #counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  // The children of one (route, method, status): prom-client hashes a labels object on every
  // inc() and observe(); the bound children skip that. Closed label sets keep this small.
  readonly #series = new Map<string, { requests: { inc(): void }; latency: { observe(v: number): void } }>();

  #httpSeries(route: string, method: string, statusCode: number) {
    const key = `${route} ${method} ${statusCode}`;
    let series = this.#series.get(key);
    if (!series) {
      const labels = { route, method, status: String(statusCode) };
      series = { requests: this.#requests.labels(labels), latency: this.#latency.labels(labels) };
      this.#series.set(key, series);
    }
    return series;
  }

  /** Counts and times every request; mount it first. */
  http(): RequestHandler {
    return (req, res, next) => {
      const start = process.hrtime.bigint();
      const route = this.#route(req.path); // now: routers may rewrite req.url on the way
      const method = METHODS.has(req.method) ? req.method : 'OTHER'; // now: a HEAD goes on as a GET
      res.on('finish', () => {
        const series = this.#httpSeries(route, method, res.statusCode);
        series.requests.inc();
        series.latency.observe(Number(process.hrtime.bigint() - start) / 1e9);
      });
      next();
    };
  }

  login(dialect: string, grant: LoginGrant, outcome: LoginOutcome): void {
    this.#logins.inc({ dialect, grant, outcome });
  }

  refresh(dialect: string, outcome: RefreshOutcome): void {
    this.#refreshes.inc({ dialect, outcome });
  }

  rateLimited(bucket: RateLimitBucket): void {
    this.#rateLimited.inc({ bucket });
  }

  rateLimitFallback(bucket: RateLimitBucket): void {
    this.#rateLimitFallbacks.inc({ bucket });
  }

  batchRetried(write: 'rotation' | 'session'): void {
    this.#batchesRetried.inc({ write });
  }

  revoked(reason: RevokeReason, sessions: number): void {
    this.#revoked.inc({ reason }, sessions);
  }
}
