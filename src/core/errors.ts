// Every failure core can report, each with a stable code. Dialect adapters map these codes
// to their own wire format; nothing outside core decides what a failure means.

export const ErrorCode = {
  /** Unknown user, wrong password or inactive user: deliberately indistinguishable. */
  InvalidCredentials: 'invalid_credentials',
  /** Unknown, inactive or wrongly authenticated API client or API user. */
  InvalidClient: 'invalid_client',
  /** No access token was presented. */
  TokenMissing: 'token_missing',
  /** Malformed, wrongly signed, foreign, revoked or otherwise unacceptable access token. */
  TokenInvalid: 'token_invalid',
  /** A well-formed, correctly signed access token whose `exp` has passed. */
  TokenExpired: 'token_expired',
  /** Unknown, revoked, foreign or replayed refresh token. */
  RefreshTokenInvalid: 'refresh_token_invalid',
  /** A refresh token (or its session) past its lifetime. */
  RefreshTokenExpired: 'refresh_token_expired',
  /** Registration or email change to an email another account has. */
  EmailTaken: 'email_taken',
  /** A chosen password that fails the password policy; the message says why. */
  WeakPassword: 'weak_password',
  /** Too many attempts; see RateLimitedError.retryAfterS. */
  RateLimited: 'rate_limited',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class GatehouseError extends Error {
  override readonly name: string = 'GatehouseError';
  constructor(
    readonly code: ErrorCode,
    message: string = code,
  ) {
    super(message);
  }
}

export class RateLimitedError extends GatehouseError {
  override readonly name = 'RateLimitedError';
  /**
   * `firstInWindow`: the attempt just past the limit, not one of those after it (which cost the
   * sender nothing, and are recorded in the audit trail only as this one).
   */
  constructor(
    readonly retryAfterS: number,
    readonly firstInWindow = true,
  ) {
    super(ErrorCode.RateLimited, `rate limited; retry after ${retryAfterS}s`);
  }
}

/**
 * A rotated refresh token presented again outside any grace window: the session was revoked.
 * Dialects answer it like any invalid refresh token; only observers tell it apart.
 */
export class RefreshTokenReplayedError extends GatehouseError {
  override readonly name = 'RefreshTokenReplayedError';
  constructor() {
    super(ErrorCode.RefreshTokenInvalid, 'replayed');
  }
}

export function isGatehouseError(err: unknown, code?: ErrorCode): err is GatehouseError {
  return err instanceof GatehouseError && (code === undefined || err.code === code);
}
