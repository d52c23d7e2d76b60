// Reports each login and refresh a dialect serves to the core's AuthEvents observer, with its
// outcome read from how the handler ended. Requests the contract's validator refuses never
// reach a dialect handler and are counted only by the HTTP metrics.
import type { Request, RequestHandler } from 'express';
import { ErrorCode, GatehouseError, RateLimitedError, RefreshTokenReplayedError } from '../core/errors.js';
import type { LoginGrant, LoginOutcome, RefreshOutcome } from '../core/events.js';
import type { Services } from '../services.js';
import { DialectError } from './http-errors.js';

function loginOutcome(err: unknown): LoginOutcome {
  if (err instanceof RateLimitedError) return 'rate_limited';
  if (err instanceof GatehouseError) {
    return err.code === ErrorCode.InvalidCredentials || err.code === ErrorCode.InvalidClient ? 'invalid_credentials' : 'bad_request';
  }
  return err instanceof DialectError && err.httpStatus < 500 ? 'bad_request' : 'error';
}

function refreshOutcome(err: unknown): RefreshOutcome {
  if (err instanceof RateLimitedError) return 'rate_limited';
  if (err instanceof RefreshTokenReplayedError) return 'replay';
  if (err instanceof GatehouseError) {
    switch (err.code) {
      case ErrorCode.RefreshTokenExpired:
      case ErrorCode.TokenExpired:
        return 'expired';
      case ErrorCode.RefreshTokenInvalid:
      case ErrorCode.TokenInvalid:
      case ErrorCode.TokenMissing:
        return 'invalid';
      default:
        return 'bad_request';
    }
  }
  return err instanceof DialectError && err.httpStatus < 500 ? 'bad_request' : 'error';
}

/** Wraps an async handler: `report(outcome)` once it has answered or failed. */
function reporting<O extends string>(handler: RequestHandler, outcomeOf: (err: unknown) => O, report: (req: Request, outcome: O | 'success') => void): RequestHandler {
  return async (req, res, next) => {
    try {
      await handler(req, res, next);
    } catch (err) {
      report(req, outcomeOf(err));
      throw err; // Express 5 hands it to the error handler
    }
    report(req, 'success');
  };
}

/** A login handler of `dialect` that reports every attempt; `grant` tells how it authenticated. */
export function reportedLogin(
  s: Services,
  dialect: string,
  handler: RequestHandler,
  grant: (req: Request) => LoginGrant = () => 'password',
): RequestHandler {
  return reporting(handler, loginOutcome, (req, outcome) => s.events.login(dialect, grant(req), outcome));
}

/** A refresh handler of `dialect` that reports every attempt. */
export function reportedRefresh(s: Services, dialect: string, handler: RequestHandler): RequestHandler {
  return reporting(handler, refreshOutcome, (_req, outcome) => s.events.refresh(dialect, outcome));
}
