// What went wrong with a request, in dialect-free terms. Body parsing, the OpenAPI validator
// and core each raise their own error types; every dialect renders from this one
// classification, so a new kind of failure is taught to all dialects in one place.
import { GatehouseError, RateLimitedError } from '../core/errors.js';

export interface ValidationIssue {
  /** Where, as the validator reports it: /body/username, /query/x, /cookies/refreshToken, /headers/... */
  path: string;
  message: string;
  /** ajv keyword: required, type, minLength, maxLength, minimum, pattern, ... */
  keyword: string;
}

/**
 * An error a dialect raises itself for a rule only it has (e.g. "Refresh token required"):
 * its status and message, with an optional dialect-specific code.
 */
export class DialectError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly dialectCode?: string,
  ) {
    super(message);
  }
}

export type RequestFailure =
  | { kind: 'dialect'; error: DialectError }
  | { kind: 'malformed_body' }
  | { kind: 'too_large' }
  | { kind: 'unsupported_media_type'; noBody: boolean }
  | { kind: 'not_found' }
  | { kind: 'method_not_allowed'; allow: string }
  | { kind: 'validation'; issues: ValidationIssue[] }
  | { kind: 'rate_limited'; retryAfterS: number }
  | { kind: 'core'; error: GatehouseError }
  | { kind: 'internal'; error: unknown };

interface HttpishError {
  status?: number;
  statusCode?: number;
  type?: string;
  headers?: Record<string, string>;
  errors?: Array<{ path?: string; message?: string; errorCode?: string }>;
}

export function classify(err: unknown, hasBody: boolean): RequestFailure {
  if (err instanceof DialectError) return { kind: 'dialect', error: err };
  if (err instanceof RateLimitedError) return { kind: 'rate_limited', retryAfterS: err.retryAfterS };
  if (err instanceof GatehouseError) return { kind: 'core', error: err };
  if (typeof err !== 'object' || err === null) return { kind: 'internal', error: err };
  const e = err as HttpishError;
  const status = e.status ?? e.statusCode;
  // body-parser (raw-body) errors carry a `type`.
  switch (e.type) {
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { kind: 'unsupported_media_type', noBody: false };
    case 'entity.parse.failed':
    case 'request.aborted':
      return { kind: 'malformed_body' };
    case 'entity.too.large':
    case 'parameters.too.many':
      return { kind: 'too_large' };
    case 'request.size.invalid':
      return { kind: 'malformed_body' };
  }
  switch (status) {
    case 404:
      return { kind: 'not_found' };
    case 405:
      return { kind: 'method_not_allowed', allow: withHead(e.headers?.Allow ?? '') };
    case 413:
      return { kind: 'too_large' };
    case 415:
      return { kind: 'unsupported_media_type', noBody: !hasBody };
    case 400:
      return {
        kind: 'validation',
        issues: (e.errors ?? []).map((i) => ({
          path: i.path ?? '',
          message: i.message ?? 'is invalid',
          keyword: (i.errorCode ?? '').replace(/\.openapi\.validation$/, ''),
        })),
      };
  }
  return { kind: 'internal', error: err };
}

/** "/body/username must NOT have more than 256 characters" — readable, with no request data echoed. */
export function describeIssues(issues: ValidationIssue[]): string {
  const first = issues[0];
  if (!first) return 'Invalid request';
  const where = first.path.replace(/^\//, '').replace(/\//g, '.');
  return `Invalid request: ${where} ${first.message}`.trim();
}

/** An Allow list with HEAD wherever GET is, since every GET operation also answers HEAD (app.ts). */
function withHead(allow: string): string {
  const methods = allow.split(',').map((m) => m.trim()).filter(Boolean);
  return methods.includes('GET') && !methods.includes('HEAD') ? [...methods, 'HEAD'].join(', ') : allow;
}
