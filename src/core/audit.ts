// The audit trail: one record per security event, for whoever keeps it (the log, wired in
// src/services.ts). OWASP Logging Cheat Sheet: authentication successes and failures, session
// revocations, password changes and registrations. Core records facts by id only: never a
// password, a token, a secret, or a login name typed for an account that does not exist
// (users type passwords into the name field). The metrics count the same things without ids.
import type { ClientInfo, RevokeReason } from './sessions.js';

export type LoginFailure = 'unknown_account' | 'wrong_password' | 'inactive' | 'account_rate_limited' | 'address_rate_limited';
export type ClientAuthenticationFailure = 'unknown_client' | 'wrong_secret' | 'inactive' | 'rate_limited';

export type AuditEvent =
  /** A password login refused; `userId` when the name was an account's. */
  | { event: 'login_failed'; reason: LoginFailure; userId?: number }
  /** An API client or API user refused; `principalId` when the name was one's. */
  | { event: 'client_authentication_failed'; kind: 'api_client' | 'api_user'; reason: ClientAuthenticationFailure; principalId?: number }
  /** A login that succeeded: a user's or a service principal's new session. */
  | { event: 'session_started'; sessionId: string; audience: string; userId?: number; principalId?: number; oauthClientId?: number }
  /** A used refresh token presented again outside any grace window: a stolen token, or a client bug. */
  | { event: 'refresh_token_replayed'; sessionId: string; userId?: number; revoked: boolean }
  /**
   * Sessions revoked at once: one (`sessionId`), or all of a user's or a service principal's;
   * `byOauthClientId`: the OAuth client that revoked a token (RFC 7009).
   */
  | { event: 'sessions_revoked'; reason: RevokeReason; count: number; sessionId?: string; userId?: number; principalId?: number; byOauthClientId?: number }
  | { event: 'password_changed'; userId: number; sessionsRevoked: number }
  | { event: 'password_change_failed'; userId: number; reason: 'wrong_password' | 'rate_limited' }
  | { event: 'user_registered'; userId: number }
  /**
   * A request refused for want of a permission (`action`, e.g. customers/read), by an
   * authenticated user or service principal; `targetUserId`: the record it asked for.
   */
  | { event: 'access_denied'; action: string; userId?: number; principalId?: number; targetUserId?: number }
  /** A user deleted through the API, by an admin user (`byUserId`) or a service principal (`byPrincipalId`). */
  | { event: 'user_deleted'; userId: number; byUserId?: number; byPrincipalId?: number }
  | { event: 'email_changed'; userId: number };

export interface AuditTrail {
  /** `client`: who asked, when a request did. */
  record(event: AuditEvent, client?: ClientInfo): void;
}

export const noAuditTrail: AuditTrail = { record: () => undefined };
