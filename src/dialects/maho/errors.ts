// Maho's error format: {"error": "<code>", "message": "...", "code": <status>}; every 401
// carries a Bearer challenge (RFC 6750).
import type { Request, Response } from 'express';
import { ErrorCode } from '../../core/errors.js';
import { describeIssues, type RequestFailure } from '../../http/http-errors.js';

export const AUTHENTICATION_REQUIRED = 'Authentication required';
export const INVALID_TOKEN = 'Invalid or expired token';

export function renderError(failure: RequestFailure, _req: Request, res: Response): void {
  const send = (status: number, error: string, message: string) => {
    if (status === 401) {
      res.set(
        'WWW-Authenticate',
        error === 'unauthorized' && message === INVALID_TOKEN ? 'Bearer realm="maho", error="invalid_token"' : 'Bearer realm="maho"',
      );
    }
    res.status(status).json({ error, message, code: status });
  };
  switch (failure.kind) {
    case 'core':
      switch (failure.error.code) {
        case ErrorCode.InvalidCredentials:
          return void send(401, 'invalid_credentials', 'Invalid email or password');
        case ErrorCode.InvalidClient:
          return void send(401, 'invalid_client', 'Invalid client credentials');
        case ErrorCode.TokenMissing:
          return void send(401, 'unauthorized', AUTHENTICATION_REQUIRED);
        case ErrorCode.TokenInvalid:
        case ErrorCode.TokenExpired:
        case ErrorCode.RefreshTokenInvalid:
        case ErrorCode.RefreshTokenExpired:
          return void send(401, 'unauthorized', INVALID_TOKEN);
        case ErrorCode.EmailTaken:
          return void send(409, 'conflict', 'A customer with this email already exists');
        case ErrorCode.WeakPassword:
          return void send(400, 'invalid_request', failure.error.message);
        default:
          return void send(400, 'invalid_request', 'Bad request');
      }
    case 'dialect':
      return void send(failure.error.httpStatus, failure.error.dialectCode ?? 'invalid_request', failure.error.message);
    case 'rate_limited':
      res.set('Retry-After', String(failure.retryAfterS));
      return void send(429, 'too_many_requests', 'Too many requests, try again later');
    case 'malformed_body':
      return void send(400, 'invalid_request', 'Request body is not valid JSON');
    case 'too_large':
      return void send(413, 'payload_too_large', 'Request body is too large');
    case 'unsupported_media_type':
      // No body at all where one is required: the fields are missing, not the media type wrong.
      if (failure.noBody) return void send(400, 'invalid_request', 'A JSON request body is required');
      return void send(415, 'unsupported_media_type', 'Unsupported Content-Type');
    case 'not_found':
      return void send(404, 'not_found', 'Not found');
    case 'method_not_allowed':
      if (failure.allow) res.set('Allow', failure.allow);
      return void send(405, 'method_not_allowed', 'Method not allowed');
    case 'validation':
      return void send(400, 'invalid_request', describeIssues(failure.issues));
    case 'internal':
      return void send(500, 'internal_error', 'Internal server error');
  }
}
