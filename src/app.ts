// The Express application: shared middleware, the contract's validator, every dialect's
// routes, and one error handler that hands each failure to the dialect owning the path.
import cookieParser from 'cookie-parser';
import cors from 'cors';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { cocart } from './dialects/cocart/index.js';
import { dummyjson } from './dialects/dummyjson/index.js';
import { maho } from './dialects/maho/index.js';
import { oauth } from './dialects/oauth/index.js';
import { ownsPath, type Dialect } from './http/dialect.js';
import { classify, describeIssues, type RequestFailure } from './http/http-errors.js';
import { inOrder } from './http/in-order.js';
import { requestId, requestLogger } from './http/logging.js';
import { canonicalContentType } from './http/content-type.js';
import { openApiValidator, requestBodyRules } from './http/openapi.js';
import { findNul, hasBody } from './http/request-context.js';
import type { Services } from './services.js';
import { systemRouter } from './system/index.js';

export const DIALECTS: readonly Dialect[] = [dummyjson, cocart, maho, oauth];

/** The dialect whose prefixes hold `path`: it routes the request and renders its errors. */
function dialectOwning(path: string): Dialect | undefined {
  return DIALECTS.find((d) => d.prefixes.some((p) => ownsPath(p, path)));
}

/** `isDraining`: true once the instance is shutting down (GET /readyz then answers 503). */
export function createApp(s: Services, logger: Logger, opts: { isDraining?: () => boolean } = {}): express.Express {
  const { config } = s;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.set('etag', false);
  // Paths are matched exactly as the contract writes them (the validator reads this setting
  // too): Express's default would route /AUTH/ME to /auth/me, outside the dialect's error
  // format and past the contract's documented answers.
  app.set('case sensitive routing', true);

  // Everything every request goes through before its route, in this order, as one layer
  // (see inOrder).
  const prelude: RequestHandler[] = [];
  prelude.push(s.metrics.http());
  prelude.push(requestLogger(logger));
  // The security headers of a JSON API (OWASP REST Security Cheat Sheet): a CSP that allows
  // nothing and no framing, HSTS, nosniff, DENY, no referrer, same-origin resources. helmet's
  // headers for HTML documents (COOP, Origin-Agent-Cluster, X-DNS-Prefetch-Control, ...) mean
  // nothing on a JSON answer; GET /docs, the one page, sets them (src/system/docs.ts).
  prelude.push(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      xFrameOptions: { action: 'deny' },
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      xPoweredBy: false, // app.disable('x-powered-by') already: nothing to remove on every request
    }),
  );
  // Only allow-listed origins get CORS headers, always with credentials and never `*`.
  // Preflights are answered here, before any authentication.
  if (config.corsOrigins.length > 0) {
    // Whether an answer carries CORS headers depends on its request's Origin, so every answer
    // says so, refusals included (`cors` adds Vary: Origin only when it allows): otherwise a
    // shared cache could keep an answer made without those headers (GET /.well-known/jwks.json
    // is public for 5 minutes) and hand it to an allowed origin, whose fetch then fails.
    prelude.push((_req, res, next) => {
      res.vary('Origin');
      next();
    });
  }
  prelude.push(
    cors({
      origin: (origin, done) => done(null, origin !== undefined && config.corsOrigins.includes(origin)),
      credentials: true,
      maxAge: 600,
      // Response headers browser code may read beyond the safelisted ones: the wait of a 429,
      // the challenge of a 401 (both documented in the contract) and the request id to quote
      // when reporting a problem.
      exposedHeaders: ['Retry-After', 'WWW-Authenticate', 'X-Request-Id'],
    }),
  );
  prelude.push((req, res, next) => {
    // Dialect answers carry tokens and personal data: never cached (RFC 6749 section 5.1),
    // errors of body parsing included.
    if (dialectOwning(req.path)) res.setHeader('Cache-Control', 'no-store').setHeader('Pragma', 'no-cache');
    next();
  });
  // Cookies are parsed only when there are some: cookie-parser otherwise still adds three
  // empty properties to every request, measured at ~3 % of a GET /auth/me with a bearer token.
  const parseCookies = cookieParser();
  prelude.push((req, res, next) => (req.headers.cookie === undefined ? next() : parseCookies(req, res, next)));
  // HEAD is GET without the body (RFC 9110 section 9.3.2), answered by the GET operation with
  // the same status and header fields. The contract and its validator know only GET (the
  // validator has no HEAD of its own), so the request goes on as one; Node made this response
  // a HEAD's when it arrived, and writes no body whatever the route sends.
  prelude.push((req, _res, next) => {
    if (req.method === 'HEAD') req.method = 'GET';
    next();
  });
  const json = express.json({ limit: config.bodyLimitBytes, strict: true });
  const form = express.urlencoded({ extended: false, limit: config.bodyLimitBytes, parameterLimit: 50 });
  const bodyRule = requestBodyRules();
  prelude.push((req, res, next) => {
    // A body the contract ignores is never parsed: GET and HEAD never have one, nor do the
    // operations that declare none. (Body parsing was ~6 % of a GET /auth/me, for nothing.)
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const rule = bodyRule(req.method, req.path);
    if (rule === 'none') return next();
    // A request without a body (Content-Length: 0, nothing chunked) to an operation whose body
    // is optional has omitted it, whatever its Content-Type says: a browser's
    // fetch(url, { method: 'POST', body: '' }) sends text/plain;charset=UTF-8, and a
    // cookie-only refresh made that way must not be a 415. The validator lets an optional
    // body through only without a Content-Type, so the meaningless one is dropped.
    if (rule === 'optional' && !hasBody(req)) {
      delete req.headers['content-type'];
      return next();
    }
    json(req, res, (err?: unknown) => (err ? next(err) : form(req, res, next)));
  });
  // PostgreSQL text cannot hold NUL: refuse it as bad input before anything reaches the store.
  prelude.push((req, _res, next) => {
    const where = findNul(req.body, '/body') ?? findNul(req.query, '/query');
    if (!where) return next();
    next(Object.assign(new Error('NUL character'), { status: 400, errors: [{ path: where, message: 'must not contain NUL characters', errorCode: 'nul' }] }));
  });
  prelude.push(canonicalContentType());
  prelude.push(...openApiValidator({ validateResponses: config.validateResponses }));
  app.use(inOrder(prelude));

  // Introspection and revocation check any dialect's token by the rules of the dialect that issued it.
  for (const d of DIALECTS) s.sessions.knowPolicy(d.policy(config));
  // A dialect's request goes straight to its own router, not past every other router's routes
  // first; the rest (system paths, and paths in another letter case, which Express's routing
  // accepts) try every router in turn.
  const routers = new Map(DIALECTS.map((d) => [d, d.router(s)]));
  const everyRouter = express.Router({ caseSensitive: true }).use(systemRouter(s, { isDraining: opts.isDraining ?? (() => false) }), ...routers.values());
  app.use((req, res, next) => {
    const owner = dialectOwning(req.path);
    (owner ? routers.get(owner)! : everyRouter)(req, res, next);
  });
  // Never Express's default HTML 404: whatever no route answered is a 404 in the owner's format.
  app.use((_req, _res, next) => next(Object.assign(new Error('Not found'), { status: 404 })));

  const onError: ErrorRequestHandler = (err, req, res, next) => {
    if (res.headersSent) return next(err);
    const failure = classify(err, hasBody(req));
    if (failure.kind === 'internal') {
      // Only name, message and stack: database errors carry their query's parameters, which
      // can be password or secret hashes.
      const e = err instanceof Error ? err : new Error(String(err));
      logger.error({ reqId: requestId(res), err: { type: e.name, message: e.message, stack: e.stack } }, 'unhandled error');
    }
    const dialect = dialectOwning(req.path);
    if (dialect) dialect.renderError(failure, req, res, s);
    else renderPlain(failure, req, res);
  };
  app.use(onError);
  return app;
}

/** Errors outside every dialect (/, /healthz, unknown paths): {"message": "..."}. */
function renderPlain(failure: RequestFailure, _req: Request, res: Response): void {
  const send = (status: number, message: string) => res.status(status).json({ message });
  switch (failure.kind) {
    case 'not_found':
      return void send(404, 'Not found');
    case 'method_not_allowed':
      if (failure.allow) res.set('Allow', failure.allow);
      return void send(405, 'Method not allowed');
    case 'malformed_body':
      return void send(400, 'Request body is not valid JSON');
    case 'too_large':
      return void send(413, 'Request body is too large');
    case 'unsupported_media_type':
      return void send(415, 'Unsupported Content-Type');
    case 'validation':
      return void send(400, describeIssues(failure.issues));
    case 'rate_limited':
      res.set('Retry-After', String(failure.retryAfterS));
      return void send(429, 'Too many requests, try again later');
    case 'dialect':
      return void send(failure.error.httpStatus, failure.error.message);
    case 'core':
      return void send(400, 'Bad request');
    case 'internal':
      return void send(500, 'Internal server error');
  }
}
