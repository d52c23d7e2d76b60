// Structured JSON logs with pino. One line per finished request: request id, method, path
// (cut at MAX_LOGGED_PATH), status and latency. Nothing else from the request is logged — no
// headers (Authorization, Cookie, Set-Cookie), no bodies, and no query string (CoCart accepts
// refresh tokens there).
//
// This middleware replaces pino-http on purpose: measured on GET /auth/me, pino-http built a
// child logger and ran serializers for every request even with access logs off, about 12 % of
// the CPU time of the whole request. Here nothing is allocated per request beyond the id, and
// the finish listener exists only when the level logs requests.
import { randomUUID } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import pino, { type Logger } from 'pino';
import type { AuditEvent, AuditTrail } from '../core/audit.js';

/**
 * Field names that hold secrets. Nothing logs them today; redaction makes sure a future log
 * call that passes headers, a body or a driver error along still cannot leak them.
 */
const SECRET_FIELDS = [
  'authorization',
  'cookie',
  '["set-cookie"]',
  'password',
  'currentPassword',
  'newPassword',
  'passwordHash',
  'password_hash',
  'accessToken',
  'refreshToken',
  'refresh_token',
  'token',
  'jwt_token',
  'jwt_refresh',
  'client_secret',
  'api_key',
  'secret',
  'secret_hash',
];
/** At the top level and up to two levels down (e.g. req.headers.authorization, err.params.password). */
const REDACT_PATHS = SECRET_FIELDS.flatMap((f) => {
  const sep = f.startsWith('[') ? '' : '.';
  return [f, `*${sep}${f}`, `*.*${sep}${f}`];
});

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination,
  );
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/**
 * The longest path a log line holds. The client chooses the path, up to Node's 16 KiB header
 * limit, and would otherwise choose how much each of its requests writes to the log. A longer
 * one is cut, and the line says so with `pathTruncated: true`.
 */
const MAX_LOGGED_PATH = 2048;

/** The id of the request `res` answers, as sent in X-Request-Id. */
export function requestId(res: Response): string {
  return res.locals.requestId as string;
}

export function requestLogger(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    if (logger.isLevelEnabled('info')) {
      const start = performance.now();
      const method = req.method; // now: a HEAD goes on as a GET
      const path = req.path; // now: routers may rewrite req.url on the way; no query string
      res.once('finish', () => {
        const truncated = path.length > MAX_LOGGED_PATH;
        const line = {
          reqId: id,
          method,
          path: truncated ? path.slice(0, MAX_LOGGED_PATH) : path,
          ...(truncated ? { pathTruncated: true } : {}),
          status: res.statusCode,
          ms: Math.round((performance.now() - start) * 10) / 10,
        };
        if (res.statusCode >= 500) logger.error(line, 'request failed');
        else logger.info(line, 'request completed');
      });
    }
    next();
  };
}

/**
 * The audit trail (src/core/audit.ts) as log lines: `{"event":"login_failed","reason":…,
 * "userId":…,"ip":…,"userAgent":…,"reqId":…,"msg":"audit"}`. At warn what may be an attack
 * (a replayed refresh token, anything refused by a rate limit), so that LOG_LEVEL=warn keeps
 * those alone; the rest at info.
 */
export function auditLog(logger: Logger): AuditTrail {
  return {
    record(event, client) {
      const level = isWarning(event) ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const who = client && { ip: capped(client.ip, MAX_AUDIT_IP), userAgent: capped(client.userAgent, MAX_AUDIT_USER_AGENT), reqId: client.requestId };
      logger[level]({ ...event, ...who }, 'audit');
    },
  };
}

/**
 * Caps on what the client writes into an audit line. Behind a trusted proxy the address is an
 * X-Forwarded-For entry as sent (up to the 128 KiB header limit); real User-Agents are a few
 * hundred characters.
 */
const MAX_AUDIT_IP = 64;
const MAX_AUDIT_USER_AGENT = 256;

function capped(value: string | null, max: number): string | null {
  return value !== null && value.length > max ? `${value.slice(0, max)}…` : value;
}

function isWarning(event: AuditEvent): boolean {
  switch (event.event) {
    case 'refresh_token_replayed':
      return true;
    case 'login_failed':
      return event.reason === 'account_rate_limited' || event.reason === 'address_rate_limited';
    case 'client_authentication_failed':
    case 'password_change_failed':
      return event.reason === 'rate_limited';
    default:
      return false;
  }
}
