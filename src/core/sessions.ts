// Sessions and refresh-token rotation.
//
// A session is one login with an absolute lifetime. Refresh tokens are opaque, stored only
// as SHA-256, and single-use: each refresh marks the presented token rotated and issues a
// child. A rotated token presented again is a replay and revokes the whole session, except
// within REFRESH_REUSE_GRACE_S of its rotation, when it is taken for a concurrent refresh
// (two tabs, one cookie) and gets a fresh token of its own. Rotation runs in one
// transaction that locks the session row, so concurrent refreshes on any number of
// instances are serialised and at most one of them can find a token unrotated.
import type { Database, Queryable } from '../store/database.js';
import type { LockedRefreshToken, Principal, PurgeCounts, SessionAuthState, SessionStore, SessionSummary, StoredRefreshToken } from '../store/sessions.js';
import type { AccessTokenClaims, AccessTokens } from './access-tokens.js';
import type { Clock } from './clock.js';
import { ErrorCode, GatehouseError, RateLimitedError, RefreshTokenReplayedError } from './errors.js';
import { noAuditTrail, type AuditTrail } from './audit.js';
import { ignoreAuthEvents, type AuthEvents } from './events.js';
import { VERIFIED_PASSWORD_HASH, type VerifiedUser } from './password-login.js';
import type { RateLimits } from './rate-limits.js';
import { newId, newRefreshToken, sha256Hex, type RefreshTokenFormat } from './secrets.js';
import type { User } from './users.js';

export interface SessionPolicy {
  /** The dialect's token audience; sessions and tokens never cross audiences. */
  audience: string;
  refreshTokenFormat: RefreshTokenFormat;
  /** Whether a refresh also kills the session's older access tokens at once. */
  revokeAccessOnRefresh: boolean;
  /**
   * Whether a rotated refresh token presented again within REFRESH_REUSE_GRACE_S counts as a
   * concurrent refresh (browser tabs sharing a cookie) rather than a replay.
   */
  concurrentRefreshGrace: boolean;
  /**
   * Tie the session to the User-Agent sent at login: every later use must send exactly the
   * same one (no User-Agent at login means none later).
   */
  bindUserAgent: boolean;
  /** Tie the session to the client IP address seen at login. */
  bindIp: boolean;
  /** The `sub` claim of this dialect's tokens; by default the user id or service principal id. */
  subjectOf?: (principal: Principal) => string;
}

/** The `sub` of a principal's tokens under `policy`. */
export function subjectOf(policy: SessionPolicy, principal: Principal): string {
  if (policy.subjectOf) return policy.subjectOf(principal);
  return String(principal.kind === 'user' ? principal.user.id : principal.service.id);
}

/** A session just opened or re-issued, ready to have an access token signed for it. */
export interface OpenedSession {
  sessionId: string;
  accessGeneration: number;
  principal: Principal;
}

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
  /** The request's id (X-Request-Id), for the audit trail to point at its log line. */
  requestId?: string;
}

export interface SessionSettings {
  refreshTokenTtlS: number;
  sessionMaxAgeS: number;
  refreshReuseGraceS: number;
}

export interface IssuedRefresh extends OpenedSession {
  refreshToken: string;
  refreshExpiresAt: number;
  user: User;
}

function principalActive(p: Principal): boolean {
  return p.kind === 'user' ? p.user.active : p.service.active;
}

/** The hash a password login verified for this user, if it came from one (see PasswordLogin). */
function verifiedHash(user: VerifiedUser): string | null {
  return user[VERIFIED_PASSWORD_HASH] ?? null;
}

/** An empty User-Agent header is the same as none. */
function normalizeClient(client: ClientInfo): ClientInfo {
  return { ...client, userAgent: client.userAgent === '' ? null : client.userAgent };
}

/** Whether the request comes from the device and address the session is bound to, if it is bound. */
function boundTo(session: { userAgent: string | null; ip: string | null }, policy: SessionPolicy, client: ClientInfo): boolean {
  // An unbound session never reads the client: its address costs a header parse (trust proxy).
  if (!policy.bindUserAgent && !policy.bindIp) return true;
  const c = normalizeClient(client);
  if (policy.bindUserAgent && session.userAgent !== c.userAgent) return false;
  if (policy.bindIp && session.ip !== c.ip) return false;
  return true;
}

/** How a rotation ended, before it is turned into an answer or an error. */
type RotateOutcome =
  | { kind: 'ok'; sessionId: string; accessGeneration: number; refreshExpiresAt: number; user: User; principal: Principal }
  | { kind: 'replayed'; sessionId: string; userId: number; revoked: boolean }
  | { kind: 'invalid' }
  | { kind: 'expired' };

export type RevokeReason = 'logout' | 'refresh_token_reuse' | 'password_change' | 'admin' | 'user_deleted' | 'token_revocation';

export class Sessions {
  /** Every dialect's policy by audience, for tokens checked without knowing their dialect. */
  readonly #policies = new Map<string, SessionPolicy>();

  constructor(
    private readonly db: Database,
    private readonly store: SessionStore,
    private readonly tokens: AccessTokens,
    private readonly limits: RateLimits,
    private readonly clock: Clock,
    private readonly settings: SessionSettings,
    private readonly events: AuthEvents = ignoreAuthEvents,
    private readonly audit: AuditTrail = noAuditTrail,
  ) {}

  /**
   * Starts a session for `user` and issues its first refresh token. `oauthClientId` is the
   * OAuth client it is issued to (only that client may redeem its refresh tokens).
   */
  async start(user: User, policy: SessionPolicy, client: ClientInfo, oauthClientId: number | null = null): Promise<IssuedRefresh> {
    client = normalizeClient(client);
    const now = this.clock.now();
    const sessionId = newId();
    const sessionExpiresAt = now + this.settings.sessionMaxAgeS * 1000;
    const refreshToken = newRefreshToken(policy.refreshTokenFormat);
    const refreshExpiresAt = Math.min(now + this.settings.refreshTokenTtlS * 1000, sessionExpiresAt);
    const opened = await this.store.insertWithRefreshToken(
      {
        id: sessionId,
        userId: user.id,
        apiUserId: null,
        clientId: oauthClientId,
        audience: policy.audience,
        createdAt: new Date(now),
        expiresAt: new Date(sessionExpiresAt),
        userAgent: client.userAgent,
        ip: client.ip,
      },
      { tokenHash: sha256Hex(refreshToken), expiresAt: new Date(refreshExpiresAt) },
      verifiedHash(user),
    );
    if (!opened) throw new GatehouseError(ErrorCode.InvalidCredentials, 'password changed or user deactivated meanwhile');
    this.audit.record({ event: 'session_started', sessionId, audience: policy.audience, userId: user.id, oauthClientId: oauthClientId ?? undefined }, client);
    return { sessionId, accessGeneration: 0, refreshToken, refreshExpiresAt, user, principal: { kind: 'user', user } };
  }

  /**
   * Opens a session without a refresh token (Maho: tokens are renewed by presenting the
   * current access token). Its absolute lifetime is SESSION_MAX_AGE_S like every session's,
   * or `lifetimeS` when shorter (a session whose one token cannot be renewed need not
   * outlive it). `oauthClientId`: the API client the session is issued to, if any.
   */
  async open(
    principal: Principal,
    policy: SessionPolicy,
    client: ClientInfo,
    opts: { oauthClientId?: number | null; lifetimeS?: number } = {},
  ): Promise<OpenedSession> {
    client = normalizeClient(client);
    const now = this.clock.now();
    const lifetimeS = Math.min(this.settings.sessionMaxAgeS, opts.lifetimeS ?? Infinity);
    const sessionId = newId();
    const row = {
      id: sessionId,
      apiUserId: principal.kind === 'service' ? principal.service.id : null,
      clientId: opts.oauthClientId ?? null,
      audience: policy.audience,
      createdAt: new Date(now),
      expiresAt: new Date(now + lifetimeS * 1000),
      userAgent: client.userAgent,
      ip: client.ip,
    };
    if (principal.kind === 'user') {
      // Both kinds are guarded (see SessionStore.insertForUser and insert). Logins are
      // argon2-bound, so they need no batching; service principals' sessions are batched.
      if (!(await this.store.insertForUser({ ...row, userId: principal.user.id }, verifiedHash(principal.user)))) {
        throw new GatehouseError(ErrorCode.InvalidCredentials, 'password changed or user deactivated meanwhile');
      }
    } else if (!(await this.store.insert({ ...row, userId: null, apiUserId: principal.service.id }))) {
      throw new GatehouseError(ErrorCode.InvalidClient, 'deactivated meanwhile');
    }
    const subject = principal.kind === 'user' ? { userId: principal.user.id } : { principalId: principal.service.id };
    this.audit.record({ event: 'session_started', sessionId, audience: policy.audience, ...subject, oauthClientId: row.clientId ?? undefined }, client);
    return { sessionId, accessGeneration: 0, principal };
  }

  /**
   * Moves a session to its next access generation, killing every access token issued before,
   * but only if `generation` is still the current one: of two concurrent renewals with the
   * same token, one wins and the other gets TokenInvalid.
   */
  async reissue(session: SessionAuthState, generation: number): Promise<OpenedSession> {
    const next = await this.store.advanceAccessGeneration(session.sessionId, generation);
    if (next === undefined) throw new GatehouseError(ErrorCode.TokenInvalid, 'token already renewed or revoked');
    return { sessionId: session.sessionId, accessGeneration: next, principal: session.principal };
  }

  /**
   * Exchanges a refresh token for a new one, counting the attempt against the client's IP and
   * (once the token names it) the account. Throws RateLimitedError, RefreshTokenInvalid
   * (unknown, foreign, revoked, replayed, inactive user) or RefreshTokenExpired.
   */
  async rotate(
    refreshToken: string,
    policy: SessionPolicy,
    client: ClientInfo,
    oauthClientId: number | null = null,
  ): Promise<IssuedRefresh> {
    const tokenHash = sha256Hex(refreshToken);
    const next = newRefreshToken(policy.refreshTokenFormat);
    const fast = await this.#rotateUnused(tokenHash, next, policy, client, oauthClientId);
    const outcome = fast.outcome ?? (await this.#rotateLocked(tokenHash, next, policy, client, oauthClientId, fast.counted, fast.limited));
    // The session's cached state changed with a replay's revocation or a new access generation;
    // the fast path's rotation without one leaves the session row as it was.
    const sessionChanged = outcome.kind === 'replayed' || (outcome.kind === 'ok' && (!fast.outcome || policy.revokeAccessOnRefresh));
    if (sessionChanged) this.store.forget(outcome.sessionId);
    if (outcome.kind === 'ok') return { ...outcome, refreshToken: next };
    if (outcome.kind === 'replayed') {
      if (outcome.revoked) this.events.revoked('refresh_token_reuse', 1);
      this.audit.record({ event: 'refresh_token_replayed', sessionId: outcome.sessionId, userId: outcome.userId, revoked: outcome.revoked }, client);
      throw new RefreshTokenReplayedError();
    }
    throw new GatehouseError(
      outcome.kind === 'expired' ? ErrorCode.RefreshTokenExpired : ErrorCode.RefreshTokenInvalid,
      outcome.kind,
    );
  }

  /**
   * The common case, in two statements and no explicit transaction (a third of the database
   * work of #rotateLocked; see docs/performance.md): read the token without locks; refuse it
   * if that read already says so (what it refuses on cannot come back to life); if it is live
   * and unused, count the refresh and rotate it with one statement that re-checks under row
   * locks that it is still unused and its session still live. A token found used, or one
   * another request rotated in between, is left to #rotateLocked, which tells a concurrent
   * refresh from a replay exactly as before (`counted`: the refresh was already counted).
   * An address past its limit is refused, except when it presents a used token: that goes on
   * to #rotateLocked (with `limited`), so that a replay still revokes its session.
   */
  async #rotateUnused(
    tokenHash: string,
    next: string,
    policy: SessionPolicy,
    client: ClientInfo,
    oauthClientId: number | null,
  ): Promise<{ outcome?: RotateOutcome; counted: boolean; limited?: RateLimitedError }> {
    const now = this.clock.now();
    // The count per client IP runs beside the read, not before it: one round trip less to
    // wait for, and a refusal still comes before anything is written.
    const [peeked, ipCount] = await Promise.allSettled([
      this.store.peekRefreshToken(tokenHash),
      this.limits.consume('refresh:ip', client.ip ?? 'unknown'),
    ]);
    if (peeked.status === 'rejected') throw peeked.reason;
    if (ipCount.status === 'rejected' && !(ipCount.reason instanceof RateLimitedError)) throw ipCount.reason;
    const limited = ipCount.status === 'rejected' ? (ipCount.reason as RateLimitedError) : undefined;
    const found = peeked.value;
    const refusal = found && found.clientId !== oauthClientId ? { kind: 'invalid' as const } : this.refusal(found, policy, client, now);
    if (limited && (refusal || found!.rotatedAt === null)) throw limited;
    if (refusal) return { outcome: refusal, counted: false };
    const t = found!;
    if (t.rotatedAt !== null) return { counted: false, limited };
    // Counted before the token is used up, as in #rotateLocked: a refused refresh leaves it unused.
    await this.limits.consume('refresh:account', String(t.user.id));
    const refreshExpiresAt = Math.min(now + this.settings.refreshTokenTtlS * 1000, t.sessionExpiresAt);
    const accessGeneration = await this.store.rotateRefreshToken({
      tokenHash,
      nextHash: sha256Hex(next),
      sessionId: t.sessionId,
      userId: t.user.id,
      at: new Date(now),
      nextExpiresAt: new Date(refreshExpiresAt),
      bumpAccessGeneration: policy.revokeAccessOnRefresh ? 1 : 0,
    });
    if (accessGeneration === undefined) return { counted: true };
    const principal = { kind: 'user' as const, user: t.user };
    return { outcome: { kind: 'ok', sessionId: t.sessionId, accessGeneration, refreshExpiresAt, user: t.user, principal }, counted: true };
  }

  /**
   * Rotation in one transaction that locks the token and its session first: decides every
   * case, reuse within the grace window and replay included.
   */
  #rotateLocked(
    tokenHash: string,
    next: string,
    policy: SessionPolicy,
    client: ClientInfo,
    oauthClientId: number | null,
    counted: boolean,
    limited?: RateLimitedError,
  ): Promise<RotateOutcome> {
    return this.db.transaction(async (tx): Promise<RotateOutcome> => {
      const now = this.clock.now();
      const found = await this.store.lockRefreshToken(tx, tokenHash);
      // Only the OAuth client a session was issued to may redeem its refresh tokens (RFC 6749
      // section 6); a dialect's own sessions have none. Refused before any replay check, so a
      // token presented by the wrong client is not used up.
      const refusal = found && found.clientId !== oauthClientId ? { kind: 'invalid' as const } : this.refusal(found, policy, client, now);
      if (refusal) return refusal;
      const t = found!;
      // A used token again: a concurrent refresh (within the grace window, where the policy
      // allows one) or a replay. The row lock makes "used" certain, and the guarded update
      // below double-checks it.
      const reused = t.rotatedAt !== null || !(await this.store.markRefreshTokenRotated(tx, tokenHash, new Date(now)));
      if (reused) {
        const rotatedAt = t.rotatedAt ?? now;
        const graceMs = policy.concurrentRefreshGrace ? this.settings.refreshReuseGraceS * 1000 : 0;
        // 0: every reuse is a replay; so is one from another device (see refusal), grace or not.
        const withinGrace = graceMs > 0 && now - rotatedAt <= graceMs && boundTo(t, policy, client);
        if (!withinGrace) {
          const revoked = await this.store.revoke(t.sessionId, 'refresh_token_reuse', new Date(now), tx);
          return { kind: 'replayed' as const, sessionId: t.sessionId, userId: t.user.id, revoked };
        }
        // The token keeps its first rotation time, so the grace window is measured from the
        // first use, and this caller gets a sibling token of its own.
      }
      // Refused only once a replay is ruled out: a limited replay must still revoke. Throwing
      // here rolls the rotation back, so a refused refresh does not use the token up.
      if (limited) throw limited;
      if (!counted) await this.limits.consume('refresh:account', String(t.user.id));
      const refreshExpiresAt = Math.min(now + this.settings.refreshTokenTtlS * 1000, t.sessionExpiresAt);
      await this.store.insertRefreshToken(tx, {
        tokenHash: sha256Hex(next),
        sessionId: t.sessionId,
        parentHash: tokenHash,
        createdAt: new Date(now),
        expiresAt: new Date(refreshExpiresAt),
      });
      const accessGeneration = policy.revokeAccessOnRefresh
        ? await this.store.bumpAccessGeneration(tx, t.sessionId)
        : t.accessGeneration;
      return {
        kind: 'ok' as const,
        sessionId: t.sessionId,
        accessGeneration,
        refreshExpiresAt,
        user: t.user,
        principal: { kind: 'user' as const, user: t.user },
      };
    });
  }

  private refusal(
    t: LockedRefreshToken | undefined,
    policy: SessionPolicy,
    client: ClientInfo,
    now: number,
  ): { kind: 'invalid' } | { kind: 'expired' } | undefined {
    if (!t || t.audience !== policy.audience || t.sessionRevokedAt !== null || !t.user.active) return { kind: 'invalid' };
    // An unused token from another device is refused and stays usable. A used one from another
    // User-Agent is a replay and goes on to revoke its session: the User-Agent is no secret, so
    // a thief who copies it would replay anyway, and one who does not must not be let off. The
    // IP binding still holds for used tokens: CoCart takes refresh tokens in the query string,
    // so used ones end up in access logs, and a reader of those from elsewhere could otherwise
    // end sessions it could never use.
    const binding = t.rotatedAt === null || !policy.bindUserAgent ? policy : { ...policy, bindUserAgent: false };
    if (!boundTo(t, binding, client)) return { kind: 'invalid' };
    if (t.expiresAt <= now || t.sessionExpiresAt <= now) return { kind: 'expired' };
    return undefined;
  }

  /**
   * Verifies an access token and checks, in the store, that its session is live, its user
   * active and its generation current. Throws TokenMissing, TokenInvalid or TokenExpired.
   */
  async authenticate(
    token: string | undefined,
    policy: SessionPolicy,
    client: ClientInfo,
  ): Promise<{ claims: AccessTokenClaims; session: SessionAuthState }> {
    if (!token) throw new GatehouseError(ErrorCode.TokenMissing);
    const { audience } = policy;
    const claims = await this.tokens.verify(token, audience);
    const session = await this.store.authState(claims.sid);
    if (!session || !this.#accepts(session, claims, policy) || !boundTo(session, policy, client)) {
      throw new GatehouseError(ErrorCode.TokenInvalid, 'session not live');
    }
    return { claims, session };
  }

  /** authenticate() for dialects whose tokens always belong to a user. */
  async authenticateUser(
    token: string | undefined,
    policy: SessionPolicy,
    client: ClientInfo,
  ): Promise<{ claims: AccessTokenClaims; session: SessionAuthState; user: User }> {
    const { claims, session } = await this.authenticate(token, policy, client);
    if (session.principal.kind !== 'user') throw new GatehouseError(ErrorCode.TokenInvalid, 'not a user token');
    return { claims, session, user: session.principal.user };
  }

  // --- introspection and revocation (RFC 7662, RFC 7009), for tokens of every dialect ---

  /** Makes a dialect's tokens known to findByAccessToken(). */
  knowPolicy(policy: SessionPolicy): void {
    const known = this.#policies.get(policy.audience);
    if (known && known !== policy) throw new Error(`two dialects share the token audience ${policy.audience}`);
    this.#policies.set(policy.audience, policy);
  }

  /**
   * The session an access token of any known dialect names, if the token is genuine
   * (signature, issuer, type, lifetime) and its audience and subject are its session's. Says
   * nothing of whether the session is still live: see isLive().
   */
  async findByAccessToken(token: string): Promise<{ claims: AccessTokenClaims & { aud: string }; session: SessionAuthState } | undefined> {
    let claims: AccessTokenClaims & { aud: string };
    try {
      claims = await this.tokens.verifyAnyAudience(token);
    } catch (err) {
      if (err instanceof GatehouseError) return undefined;
      throw err;
    }
    const policy = this.#policies.get(claims.aud);
    const session = policy && (await this.store.authState(claims.sid));
    if (!session || session.audience !== claims.aud || subjectOf(policy!, session.principal) !== claims.sub) return undefined;
    return { claims, session };
  }

  /** A refresh token of any dialect as stored, with its session; whatever its state. */
  async findByRefreshToken(token: string): Promise<{ refresh: StoredRefreshToken; session: SessionAuthState } | undefined> {
    const refresh = await this.store.findRefreshToken(sha256Hex(token));
    const session = refresh && (await this.store.authState(refresh.sessionId));
    return session && { refresh, session };
  }

  /** Whether a session would still let its tokens in (ignoring device binding, which needs the device). */
  isLive(session: SessionAuthState, accessGeneration?: number): boolean {
    return (
      session.revokedAt === null &&
      session.expiresAt > this.clock.now() &&
      principalActive(session.principal) &&
      (accessGeneration === undefined || session.accessGeneration === accessGeneration)
    );
  }

  /** Whether a verified token's session lets it in (all but device binding). */
  #accepts(session: SessionAuthState, claims: AccessTokenClaims, policy: SessionPolicy): boolean {
    return (
      session.audience === policy.audience &&
      subjectOf(policy, session.principal) === claims.sub &&
      this.isLive(session, claims.gen)
    );
  }

  /** Call after any write to a user, so cached sessions show the user as stored now. */
  userChanged(userId: number): void {
    this.store.forgetUser(userId);
  }

  /** Call after any write to a service principal. */
  serviceChanged(apiUserId: number): void {
    this.store.forgetService(apiUserId);
  }

  /** Revokes every session of a service principal. `tx`: the deactivation's (ServicePrincipalRows.changeActive). */
  async revokeAllForService(apiUserId: number, tx?: Queryable): Promise<number> {
    const count = await this.store.revokeAllForApiUser(apiUserId, 'admin', new Date(this.clock.now()), tx);
    return this.counted('admin', count, tx ? undefined : { principalId: apiUserId });
  }

  /**
   * `by`, for the audit trail: who asked (logout, token revocation), whose session it is, and
   * the OAuth client that revoked it, if one did.
   */
  async revoke(sessionId: string, reason: RevokeReason, by?: { client: ClientInfo; session: SessionAuthState; oauthClientId?: number }): Promise<boolean> {
    const count = Number(await this.store.revoke(sessionId, reason, new Date(this.clock.now())));
    const owner = by && (by.session.principal.kind === 'user' ? { userId: by.session.principal.user.id } : { principalId: by.session.principal.service.id });
    return this.counted(reason, count, by && { sessionId, ...owner, byOauthClientId: by.oauthClientId }, by?.client) > 0;
  }

  /**
   * Revokes every session of a user: all dialects, or only `audience`'s; except
   * `exceptSessionId` when given (the caller's own).
   */
  /** `tx`: the transaction of the credential change that calls for it (UserStore.changeCredentials). */
  async revokeAllForUser(
    userId: number,
    reason: RevokeReason,
    opts: { exceptSessionId?: string; audience?: string; client?: ClientInfo } = {},
    tx?: Queryable,
  ): Promise<number> {
    const count = await this.store.revokeAllForUser(userId, reason, new Date(this.clock.now()), opts, tx);
    return this.counted(reason, count, tx ? undefined : { userId }, opts.client);
  }

  /**
   * Reports `sessions` revoked sessions, to the metrics and, with `subject`, to the audit trail.
   * Revocations inside a caller's transaction pass none: it may still roll back, and the caller
   * records its own event once it has committed (Accounts.changePassword).
   */
  private counted(
    reason: RevokeReason,
    sessions: number,
    subject?: { sessionId?: string; userId?: number; principalId?: number; byOauthClientId?: number },
    client?: ClientInfo,
  ): number {
    if (sessions > 0) {
      this.events.revoked(reason, sessions);
      if (subject) this.audit.record({ event: 'sessions_revoked', reason, count: sessions, ...subject }, client);
    }
    return sessions;
  }

  // --- administration ---

  /** A user's sessions, newest first, revoked and expired ones included; no token material. */
  listForUser(userId: number): Promise<SessionSummary[]> {
    return this.store.listForUser(userId);
  }

  /**
   * Deletes what can no longer authenticate anyone, and nothing that still guards something:
   * - Expired and revoked sessions, with every refresh token row of theirs. A token naming a
   *   session that no longer exists is refused like a revoked one (authenticate() finds no
   *   session; a refresh token finds no row), so deleting changes no answer but "expired"
   *   into "invalid". A replayed refresh token of a revoked session has nothing left to revoke.
   * - Expired refresh tokens of live sessions, rotated or not: an expired token is refused as
   *   expired before any replay check (see refusal()), so its row no longer detects a replay.
   * Kept: every unexpired refresh token row of a live session, including rotated ones, since a
   * rotated token presented again is how a stolen token is detected (the session is revoked).
   * Clocks of several instances may differ by a few seconds; at worst an instance running
   * behind refuses a just-expired session as unknown instead of as expired.
   * With `keepS`, ended sessions stay listed (for audit: who logged in from where, and why a
   * session was revoked) until they have been over for that long; their expired refresh tokens
   * still go, since nothing but a live session's token can authenticate or detect a replay.
   */
  purge(keepS = 0): Promise<PurgeCounts> {
    const now = this.clock.now();
    return this.store.purge(new Date(now), new Date(now - keepS * 1000));
  }
}
