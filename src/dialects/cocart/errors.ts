// CoCart's error format, the WordPress REST error shape: {code, message, data: {status}}.
// Framework-level codes (rest_*) are WordPress's own, so existing clients recognise them.
import type { Request, Response } from 'express';
import { ErrorCode } from '../../core/errors.js';
import type { RequestFailure, ValidationIssue } from '../../http/http-errors.js';

export const AUTHENTICATION_FAILED = 'Authentication failed.';

export function renderError(failure: RequestFailure, _req: Request, res: Response): void {
  const send = (status: number, code: string, message: string) => res.status(status).json({ code, message, data: { status } });
  switch (failure.kind) {
    case 'core':
      switch (failure.error.code) {
        case ErrorCode.InvalidCredentials:
          return void send(401, 'cocart_authentication_error', AUTHENTICATION_FAILED);
        case ErrorCode.TokenMissing:
        case ErrorCode.TokenInvalid:
        case ErrorCode.TokenExpired:
          res.set('WWW-Authenticate', 'Bearer realm="cocart"');
          return void send(401, 'cocart_authentication_error', AUTHENTICATION_FAILED);
        case ErrorCode.RefreshTokenInvalid:
          return void send(403, 'cocart_authentication_error', 'Invalid refresh token.');
        case ErrorCode.RefreshTokenExpired:
          return void send(403, 'cocart_authentication_error', 'Refresh token expired.');
        default:
          // Codes no CoCart route raises; answered generically rather than with internal text.
          return void send(400, 'cocart_error', 'Bad request.');
      }
    case 'dialect':
      return void send(failure.error.httpStatus, failure.error.dialectCode ?? 'cocart_error', failure.error.message);
    case 'rate_limited':
      res.set('Retry-After', String(failure.retryAfterS));
      return void send(429, 'cocart_rate_limit_reached', 'Too many requests. Please wait and try again.');
    case 'malformed_body':
      return void send(400, 'rest_invalid_json', 'Invalid JSON body passed.');
    case 'too_large':
      return void send(413, 'rest_payload_too_large', 'Request body is too large.');
    case 'unsupported_media_type':
      return void send(
        415,
        'rest_unsupported_media_type',
        'Unsupported Content-Type: send application/json or application/x-www-form-urlencoded.',
      );
    case 'not_found':
      return void send(404, 'rest_no_route', 'No route was found matching the URL and request method.');
    case 'method_not_allowed':
      if (failure.allow) res.set('Allow', failure.allow);
      return void send(405, 'rest_no_route', 'No route was found matching the URL and request method.');
    case 'validation':
      return void send(400, 'rest_invalid_param', `Invalid parameter(s): ${parameterNames(failure.issues)}`);
    case 'internal':
      return void send(500, 'internal_server_error', 'Internal server error.');
  }
}

/** "refresh_token" from "/body/refresh_token" or "/query/refresh_token", as WordPress names them. */
function parameterNames(issues: ValidationIssue[]): string {
  const names = issues.map((i) => i.path.split('/')[2] ?? i.path.split('/')[1] ?? 'body').filter(Boolean);
  return [...new Set(names)].join(', ') || 'body';
}
