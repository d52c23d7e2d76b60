// The OAuth 2 error format (RFC 6749 section 5.2): {"error": "<code>", "error_description": "..."}.
// Every 401 carries a Basic challenge, since client authentication is what failed.
import type { Request, Response } from 'express';
import type { OAuthError } from '../../../generated/client/types.gen.js';
import { ErrorCode } from '../../core/errors.js';
import { DialectError, describeIssues, type RequestFailure } from '../../http/http-errors.js';

export type OAuthErrorCode = OAuthError['error'];

/** An OAuth error a handler raises itself: 400 unless said otherwise. */
export function oauthError(error: OAuthErrorCode, description: string, status = 400): DialectError {
  return new DialectError(status, description, error);
}

export function renderError(failure: RequestFailure, _req: Request, res: Response): void {
  const send = (status: number, error: OAuthErrorCode, description: string) => {
    if (status === 401) res.set('WWW-Authenticate', 'Basic realm="gatehouse"');
    const body: OAuthError = { error, error_description: description };
    res.status(status).json(body);
  };
  switch (failure.kind) {
    case 'core':
      switch (failure.error.code) {
        case ErrorCode.InvalidClient:
          return void send(401, 'invalid_client', 'Client authentication failed');
        case ErrorCode.InvalidCredentials:
          return void send(400, 'invalid_grant', 'Invalid username or password');
        case ErrorCode.RefreshTokenInvalid:
        case ErrorCode.RefreshTokenExpired:
          return void send(400, 'invalid_grant', 'Invalid or expired refresh token');
        default:
          return void send(400, 'invalid_request', 'Bad request');
      }
    case 'dialect':
      return void send(failure.error.httpStatus, (failure.error.dialectCode as OAuthErrorCode | undefined) ?? 'invalid_request', failure.error.message);
    case 'rate_limited':
      res.set('Retry-After', String(failure.retryAfterS));
      return void send(429, 'temporarily_unavailable', 'Too many requests, try again later');
    case 'malformed_body':
      return void send(400, 'invalid_request', 'The body is not a valid form');
    case 'too_large':
      return void send(413, 'invalid_request', 'Request body is too large');
    case 'unsupported_media_type':
      if (failure.noBody) return void send(400, 'invalid_request', 'A form body (application/x-www-form-urlencoded) is required');
      return void send(415, 'invalid_request', 'The body must be application/x-www-form-urlencoded');
    case 'not_found':
      return void send(404, 'invalid_request', 'Not found');
    case 'method_not_allowed':
      if (failure.allow) res.set('Allow', failure.allow);
      return void send(405, 'invalid_request', 'Method not allowed');
    case 'validation':
      return void send(400, 'invalid_request', describeIssues(failure.issues));
    case 'internal':
      return void send(500, 'server_error', 'Internal server error');
  }
}
