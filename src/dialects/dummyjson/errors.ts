// DummyJSON's error format: {"message": "..."} for everything, with the original's messages.
import type { Request, Response } from 'express';
import { ErrorCode } from '../../core/errors.js';
import { describeIssues, type RequestFailure } from '../../http/http-errors.js';
import type { Services } from '../../services.js';
import { clearAuthCookies } from './cookies.js';

export const MESSAGES = {
  credentialsRequired: 'Username and password required',
  invalidCredentials: 'Invalid credentials',
  invalidExpiresInMins: 'expiresInMins must be a number from 1 to 43200',
  tokenRequired: 'Access Token is required',
  invalidToken: 'Invalid/Expired Token!',
  tokenExpired: 'Token Expired!',
  refreshTokenRequired: 'Refresh token required',
  invalidRefreshToken: 'Invalid refresh token',
  malformedJson: 'Request body is not valid JSON',
  tooLarge: 'Request body is too large',
  unsupportedMediaType: 'Unsupported Content-Type: send application/json or application/x-www-form-urlencoded',
  notFound: 'Not found',
  methodNotAllowed: 'Method not allowed',
  tooManyRequests: 'Too many requests, try again later',
  internal: 'Internal server error',
} as const;

export function renderError(failure: RequestFailure, req: Request, res: Response, s: Services): void {
  const send = (status: number, message: string) => res.status(status).json({ message });
  switch (failure.kind) {
    case 'core':
      switch (failure.error.code) {
        case ErrorCode.InvalidCredentials:
          return void send(400, MESSAGES.invalidCredentials);
        case ErrorCode.TokenMissing:
        case ErrorCode.TokenInvalid:
        case ErrorCode.TokenExpired:
          // A browser stops sending a dead token. The original clears both cookies on any 401;
          // here /auth/me keeps the refresh cookie for a missing or expired access token, since
          // the access cookie expires with its token and the next call without one is how a
          // cookie-only client learns to refresh (which it could not do with that cookie gone).
          // A logout always clears both: the user asked to be signed out of this browser.
          clearAuthCookies(res, s.config, {
            keepRefresh: failure.error.code !== ErrorCode.TokenInvalid && req.path !== '/auth/logout',
          });
          return void send(
            401,
            failure.error.code === ErrorCode.TokenMissing
              ? MESSAGES.tokenRequired
              : failure.error.code === ErrorCode.TokenExpired
                ? MESSAGES.tokenExpired
                : MESSAGES.invalidToken,
          );
        case ErrorCode.RefreshTokenInvalid:
        case ErrorCode.RefreshTokenExpired:
          return void send(403, MESSAGES.invalidRefreshToken);
        default:
          // Codes no DummyJSON route raises; answered generically rather than with internal text.
          return void send(400, 'Bad request');
      }
    case 'rate_limited':
      res.set('Retry-After', String(failure.retryAfterS));
      return void send(429, MESSAGES.tooManyRequests);
    case 'malformed_body':
      return void send(400, MESSAGES.malformedJson);
    case 'too_large':
      return void send(413, MESSAGES.tooLarge);
    case 'unsupported_media_type':
      // A login with no body at all is a login without credentials, not a media-type problem.
      return void send(
        failure.noBody && req.path === '/auth/login' ? 400 : 415,
        failure.noBody && req.path === '/auth/login' ? MESSAGES.credentialsRequired : MESSAGES.unsupportedMediaType,
      );
    case 'not_found':
      return void send(404, MESSAGES.notFound);
    case 'method_not_allowed':
      if (failure.allow) res.set('Allow', failure.allow);
      return void send(405, MESSAGES.methodNotAllowed);
    case 'validation':
      return void send(400, validationMessage(failure.issues, req.path));
    case 'dialect':
      return void send(failure.error.httpStatus, failure.error.message);
    case 'internal':
      return void send(500, MESSAGES.internal);
  }
}

/** The original's messages for the fields it knows; a readable description for the rest. */
function validationMessage(issues: Parameters<typeof describeIssues>[0], path: string): string {
  if (issues.some((i) => i.path.startsWith('/body/expiresInMins'))) return MESSAGES.invalidExpiresInMins;
  if (path === '/auth/login') {
    const credentialIssue = issues.find((i) => /^\/body(\/(username|password))?$/.test(i.path));
    if (credentialIssue) {
      // Too long cannot match any account: answer as for wrong credentials.
      return credentialIssue.keyword === 'maxLength' ? MESSAGES.invalidCredentials : MESSAGES.credentialsRequired;
    }
  }
  return describeIssues(issues);
}
