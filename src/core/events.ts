// What core reports as it works, for whoever observes it (the Prometheus metrics wired in
// src/services.ts). Core knows only this interface, never a metrics library. Every label
// value is from a closed set, so an observer's series stay bounded.
import type { RateLimitBucket } from './rate-limits.js';
import type { RevokeReason } from './sessions.js';

export type LoginOutcome = 'success' | 'invalid_credentials' | 'rate_limited' | 'bad_request' | 'error';
export type RefreshOutcome = 'success' | 'invalid' | 'expired' | 'replay' | 'rate_limited' | 'bad_request' | 'error';
/** How a login proved who it is: a password, or a service principal's secret. */
export type LoginGrant = 'password' | 'client_credentials' | 'api_user' | 'unsupported';

export interface AuthEvents {
  login(dialect: string, grant: LoginGrant, outcome: LoginOutcome): void;
  refresh(dialect: string, outcome: RefreshOutcome): void;
  /** A request refused by a rate limit. */
  rateLimited(bucket: RateLimitBucket): void;
  /** `sessions` sessions were revoked at once for `reason`. */
  revoked(reason: RevokeReason, sessions: number): void;
}

export const ignoreAuthEvents: AuthEvents = {
  login: () => undefined,
  refresh: () => undefined,
  rateLimited: () => undefined,
  revoked: () => undefined,
};
