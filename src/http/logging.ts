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
import type { AuditTrail } from '../core/audit.js';

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
 * "userId":…,"ip":…,"userAgent":…,"reqId":…,"msg":"audit"}`, at info, and at warn for a
 * replayed refresh token (a stolen token, or a client that keeps a used one). LOG_LEVEL=warn
 * keeps those alone.
 */
export function auditLog(logger: Logger): AuditTrail {
  return {
    record(event, client) {
      const level = event.event === 'refresh_token_replayed' ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      const who = client && { ip: client.ip, userAgent: client.userAgent, reqId: client.requestId };
      logger[level]({ ...event, ...who }, 'audit');
    },
  };
}
