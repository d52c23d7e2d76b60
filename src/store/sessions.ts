import type { OAuthGrantType, ServiceKind, ServicePrincipal } from '../core/service-principals.js';
import type { User } from '../core/users.js';
import { refusedOverItsRows, type Database, type Queryable } from './database.js';
import { ReadBatcher } from './read-batcher.js';
import { WriteBatcher } from './write-batcher.js';
import { RowCache } from './row-cache.js';
import { toUser, USER_COLUMNS, type UserRow } from './users.js';

/** Who a session belongs to: a user, or a service principal (API client or API user). */
export type Principal = { kind: 'user'; user: User } | { kind: 'service'; service: ServicePrincipal };

/** What every authenticated request needs to know about its session, with its principal as stored now. */
export interface SessionAuthState {
  sessionId: string;
  audience: string;
  accessGeneration: number;
  expiresAt: number;
  revokedAt: number | null;
  userAgent: string | null;
  ip: string | null;
  /** The OAuth client the session was issued to (api_users.id), if any. */
  clientId: number | null;
  principal: Principal;
}

/** One refresh-token rotation: the token used up, its successor, and the session it belongs to. */
export interface Rotation {
  tokenHash: string;
  nextHash: string;
  /** The session the token belongs to, and its user, as read before the rotation. */
  sessionId: string;
  userId: number;
  at: Date;
  nextExpiresAt: Date;
  bumpAccessGeneration: 0 | 1;
}

export interface NewSession {
  id: string;
  userId: number | null;
  apiUserId: number | null;
  clientId: number | null;
  audience: string;
  createdAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ip: string | null;
}

/** A refresh token row as stored (times in epoch milliseconds). */
export interface StoredRefreshToken {
  sessionId: string;
  createdAt: number;
  expiresAt: number;
  rotatedAt: number | null;
}

/** What an administrator sees of a session: never token material. */
export interface SessionSummary {
  id: string;
  audience: string;
  createdAt: Date;
  expiresAt: Date;
  revokedAt: Date | null;
  revokedReason: string | null;
  userAgent: string | null;
  ip: string | null;
  /** The OAuth client's client_id when the session was issued to one (the OAuth password grant); null for dialect logins. */
  clientId: string | null;
}

/** A service principal's session: no user. */
export type ServiceSession = NewSession & { userId: null; apiUserId: number };

export interface PurgeCounts {
  expiredSessions: number;
  revokedSessions: number;
  expiredRefreshTokens: number;
}

/** A refresh token row joined with its session and user, locked for rotation. */
export interface LockedRefreshToken {
  tokenHash: string;
  sessionId: string;
  audience: string;
  expiresAt: number;
  rotatedAt: number | null;
  sessionExpiresAt: number;
  sessionRevokedAt: number | null;
  accessGeneration: number;
  userAgent: string | null;
  ip: string | null;
  clientId: number | null;
  user: User;
}

interface AuthStateRow extends UserRow {
  session_id: string;
  a_id: number | null;
  a_kind: ServiceKind | null;
  a_name: string | null;
  a_permissions: string[] | null;
  a_grant_types: OAuthGrantType[] | null;
  a_active: boolean | null;
  client_id: number | null;
  audience: string;
  access_generation: number;
  expires_at: Date;
  revoked_at: Date | null;
  user_agent: string | null;
  session_ip: string | null;
}

const AUTH_STATE_SQL = `SELECT s.id AS session_id, s.audience, s.access_generation, s.expires_at, s.revoked_at,
    s.user_agent, s.ip AS session_ip, s.client_id, ${USER_COLUMNS},
    a.id AS a_id, a.kind AS a_kind, a.name AS a_name, a.permissions AS a_permissions,
    a.grant_types AS a_grant_types, a.active AS a_active
  FROM sessions s
  LEFT JOIN users u ON u.id = s.user_id
  LEFT JOIN api_users a ON a.id = s.api_user_id
  WHERE s.id = ANY($1::text[])`;

function principalOf(r: AuthStateRow): Principal {
  if (r.a_id !== null) {
    return {
      kind: 'service',
      service: {
        id: r.a_id,
        kind: r.a_kind!,
        name: r.a_name!,
        permissions: r.a_permissions!,
        grantTypes: r.a_grant_types!,
        active: r.a_active!,
      },
    };
  }
  return { kind: 'user', user: toUser(r) };
}

/**
 * The rows a new session depends on, read FOR KEY SHARE: the locks the sessions' foreign keys
 * take anyway, taken here first so that the conditions are checked again after any change that
 * held the row FOR UPDATE (UserStore.changeCredentials, ServicePrincipalRows.changeActive).
 * `u`: the user ($2), active, with the verified password hash if given (the statement's last
 * parameter: $10 in insertForUser, $12 with a refresh token), and the OAuth client it is issued
 * to ($4), if any, active; `c` is that client.
 */
const USER_GUARD = (hashParam: number) =>
  `c AS (SELECT id FROM api_users WHERE id = $4 AND active FOR KEY SHARE),
   u AS (SELECT id FROM users WHERE id = $2 AND active AND ($${hashParam}::text IS NULL OR password_hash = $${hashParam})
           AND ($4::int IS NULL OR EXISTS (SELECT 1 FROM c)) FOR KEY SHARE)`;

/** The same for a service principal's session: its row ($3 of the statement), active. */
const SERVICE_GUARD = `a AS (SELECT id FROM api_users WHERE id = $3 AND active FOR KEY SHARE)`;

export class SessionStore {
  /** Only for an exclusive (embedded) database; see RowCache. */
  readonly #cache: RowCache<string, SessionAuthState> | undefined;
  /**
   * Also only for an exclusive database: the refresh tokens this process stored and has not
   * seen used, by hash, with what never changes about them (their session and expiry), so
   * that peekRefreshToken can answer from memory together with the session cache. A token
   * missing here is read from the database. One wrongly here (its insert rolled back, or used
   * in a transaction that rolled back) costs nothing but a miss: rotateRefreshToken re-checks
   * under locks and finds nothing to rotate, and the locked path decides from the database.
   */
  readonly #unusedRefreshTokens: Map<string, { sessionId: string; expiresAt: number }> | undefined;

  /** Only for a shared database, where nothing is cached: concurrent lookups share a query. */
  readonly #batcher: ReadBatcher<string, SessionAuthState> | undefined;
  /** Likewise for the unlocked read of a refresh token that starts every rotation. */
  readonly #refreshBatcher: ReadBatcher<string, LockedRefreshToken> | undefined;
  /** Likewise for the rotations themselves: concurrent ones share a statement and a commit. */
  readonly #rotations: WriteBatcher<Rotation, number | undefined> | undefined;
  /** And for new sessions outside a transaction (client_credentials and API-user grants). */
  readonly #inserts: WriteBatcher<ServiceSession, boolean> | undefined;

  /** `onBatchRetried`: a batched write that PostgreSQL refused as a whole is being retried item by item. */
  constructor(
    private readonly db: Database,
    opts: { onBatchRetried?: (write: 'rotation' | 'session') => void } = {},
  ) {
    this.#cache = db.exclusive ? new RowCache(50_000) : undefined;
    this.#batcher = db.exclusive ? undefined : new ReadBatcher((ids) => this.#loadAuthStates(ids), 200);
    this.#refreshBatcher = db.exclusive ? undefined : new ReadBatcher((hashes) => this.#refreshTokensWithSessions(this.db, hashes, ''), 200);
    this.#unusedRefreshTokens = db.exclusive ? new Map() : undefined;
    if (!db.exclusive) {
      this.#rotations = new WriteBatcher({
        writeMany: async (rotations) => {
          const done = await this.#rotateMany(rotations);
          return rotations.map((r) => done.get(r.tokenHash));
        },
        writeOne: (r) => this.#rotateOne(r),
        maxBatch: 200,
        exclusiveKey: (r) => `user:${r.userId}`,
        rolledBack: refusedOverItsRows,
        onRetryAlone: () => opts.onBatchRetried?.('rotation'),
      });
      this.#inserts = new WriteBatcher({
        writeMany: (s) => this.#insertMany(s),
        writeOne: (s) => this.#insertOne(s),
        maxBatch: 200,
        rolledBack: refusedOverItsRows,
        onRetryAlone: () => opts.onBatchRetried?.('session'),
      });
    }
  }

  #rememberUnused(tokenHash: string, sessionId: string, expiresAt: Date): void {
    const tokens = this.#unusedRefreshTokens;
    if (!tokens) return;
    // Map keeps insertion order: dropping the first key evicts the oldest entry.
    if (tokens.size >= 50_000) tokens.delete(tokens.keys().next().value as string);
    tokens.set(tokenHash, { sessionId, expiresAt: expiresAt.getTime() });
  }

  /**
   * A service principal's new session, only while the principal is active: a deactivation that
   * committed after its secret was checked, and revoked its sessions, must not be outlived by
   * this one (see SERVICE_GUARD). Batched on a shared database. False when refused.
   */
  async insert(s: ServiceSession): Promise<boolean> {
    return this.#inserts ? this.#inserts.write(s) : this.#insertOne(s);
  }

  async #insertOne(s: ServiceSession): Promise<boolean> {
    const rows = await this.db.query(
      `WITH ${SERVICE_GUARD}
       INSERT INTO sessions (id, user_id, api_user_id, client_id, audience, created_at, expires_at, user_agent, ip)
       SELECT $1, $2, a.id, $4, $5, $6, $7, $8, $9 FROM a RETURNING 1`,
      [s.id, null, s.apiUserId, s.clientId, s.audience, s.createdAt, s.expiresAt, s.userAgent, s.ip],
    );
    return rows.length > 0;
  }

  /** insert() for several sessions at once (shared databases only; see WriteBatcher), each guarded. */
  async #insertMany(sessions: ServiceSession[]): Promise<boolean[]> {
    const column = <K extends keyof ServiceSession>(k: K) => sessions.map((s) => s[k]);
    const rows = await this.db.query<{ id: string }>(
      `WITH n AS (
         SELECT * FROM unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[], $8::text[])
           AS n(id, api_user_id, client_id, audience, created_at, expires_at, user_agent, ip)),
       a AS (SELECT id FROM api_users WHERE id IN (SELECT api_user_id FROM n) AND active ORDER BY id FOR KEY SHARE)
       INSERT INTO sessions (id, user_id, api_user_id, client_id, audience, created_at, expires_at, user_agent, ip)
       SELECT n.id, NULL, n.api_user_id, n.client_id, n.audience, n.created_at, n.expires_at, n.user_agent, n.ip
         FROM n JOIN a ON a.id = n.api_user_id
       RETURNING id`,
      [column('id'), column('apiUserId'), column('clientId'), column('audience'), column('createdAt'), column('expiresAt'), column('userAgent'), column('ip')],
    );
    const inserted = new Set(rows.map((r) => r.id));
    return sessions.map((s) => inserted.has(s.id));
  }


  /**
   * The hot path of every authenticated request: one indexed join. Exact and cached on an
   * exclusive database; on a shared one read every time, batched with the lookups that
   * arrive together (see ReadBatcher: never from a query sent before the request came).
   */
  authState(sessionId: string): Promise<SessionAuthState | undefined> {
    if (this.#batcher) return this.#batcher.get(sessionId);
    return this.#cache!.get(sessionId, async () => (await this.#loadAuthStates([sessionId])).get(sessionId));
  }

  async #loadAuthStates(sessionIds: string[]): Promise<Map<string, SessionAuthState>> {
    const rows = await this.db.query<AuthStateRow>(AUTH_STATE_SQL, [sessionIds]);
    return new Map(
      rows.map((r) => [
        r.session_id,
        {
          sessionId: r.session_id,
          audience: r.audience,
          accessGeneration: r.access_generation,
          expiresAt: r.expires_at.getTime(),
          revokedAt: r.revoked_at?.getTime() ?? null,
          userAgent: r.user_agent,
          ip: r.session_ip,
          clientId: r.client_id,
          principal: principalOf(r),
        },
      ]),
    );
  }

  async revoke(sessionId: string, reason: string, at: Date, db: Queryable = this.db): Promise<boolean> {
    const rows = await db.query(
      'UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL RETURNING id',
      [sessionId, at, reason],
    );
    this.forget(sessionId);
    return rows.length > 0;
  }

  async revokeAllForUser(
    userId: number,
    reason: string,
    at: Date,
    opts: { exceptSessionId?: string; audience?: string } = {},
    db: Queryable = this.db,
  ): Promise<number> {
    const rows = await db.query(
      `UPDATE sessions SET revoked_at = $2, revoked_reason = $3
        WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $4 AND ($5::text IS NULL OR audience = $5)
        RETURNING id`,
      [userId, at, reason, opts.exceptSessionId ?? null, opts.audience ?? null],
    );
    this.forgetUser(userId);
    return rows.length;
  }

  async revokeAllForApiUser(apiUserId: number, reason: string, at: Date, db: Queryable = this.db): Promise<number> {
    const rows = await db.query(
      // Its own sessions, and the users' sessions it obtained as an OAuth client.
      'UPDATE sessions SET revoked_at = $2, revoked_reason = $3 WHERE (api_user_id = $1 OR client_id = $1) AND revoked_at IS NULL RETURNING id',
      [apiUserId, at, reason],
    );
    this.forgetService(apiUserId);
    return rows.length;
  }

  /** Drops a cached session after a write to it (call after the write's transaction commits too). */
  forget(sessionId: string): void {
    this.#cache?.delete(sessionId);
  }

  /** Drops every cached session of a user after a write to the user. */
  forgetUser(userId: number): void {
    this.#cache?.deleteWhere((s) => s.principal.kind === 'user' && s.principal.user.id === userId);
  }

  /** Drops every cached session of a service principal after a write to it. */
  forgetService(apiUserId: number): void {
    this.#cache?.deleteWhere((s) => s.clientId === apiUserId || (s.principal.kind === 'service' && s.principal.service.id === apiUserId));
  }

  // --- refresh tokens (always inside a transaction) ---

  /**
   * A user's new session and its first refresh token in one statement: atomic without a
   * transaction, and one round trip instead of four (BEGIN, two INSERTs, COMMIT) on every login.
   * Guarded like insertForUser; false when the guard refused and nothing was written.
   */
  async insertWithRefreshToken(s: NewSession & { userId: number }, t: { tokenHash: string; expiresAt: Date }, passwordHash: string | null): Promise<boolean> {
    const rows = await this.db.query(
      `WITH ${USER_GUARD(12)},
       s AS (
         INSERT INTO sessions (id, user_id, api_user_id, client_id, audience, created_at, expires_at, user_agent, ip)
         SELECT $1, u.id, $3, $4, $5, $6, $7, $8, $9 FROM u
         RETURNING id, created_at)
       INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
       SELECT $10, s.id, NULL, s.created_at, $11 FROM s RETURNING 1`,
      [s.id, s.userId, s.apiUserId, s.clientId, s.audience, s.createdAt, s.expiresAt, s.userAgent, s.ip, t.tokenHash, t.expiresAt, passwordHash],
    );
    if (rows.length === 0) return false;
    this.#rememberUnused(t.tokenHash, s.id, t.expiresAt);
    return true;
  }

  /**
   * A user's new session, only while the user is active and, when `passwordHash` is given (the
   * hash a password login just verified), while it is still the user's: a password change or a
   * deactivation that committed after the check, and revoked every session, must not be
   * outlived by this one (see UserStore.changeCredentials for the locking). False when refused.
   */
  async insertForUser(s: NewSession & { userId: number }, passwordHash: string | null): Promise<boolean> {
    const rows = await this.db.query(
      `WITH ${USER_GUARD(10)}
       INSERT INTO sessions (id, user_id, api_user_id, client_id, audience, created_at, expires_at, user_agent, ip)
       SELECT $1, u.id, $3, $4, $5, $6, $7, $8, $9 FROM u RETURNING 1`,
      [s.id, s.userId, s.apiUserId, s.clientId, s.audience, s.createdAt, s.expiresAt, s.userAgent, s.ip, passwordHash],
    );
    return rows.length > 0;
  }

  async insertRefreshToken(
    tx: Queryable,
    t: { tokenHash: string; sessionId: string; parentHash: string | null; createdAt: Date; expiresAt: Date },
  ): Promise<void> {
    await tx.query(
      `INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5)`,
      [t.tokenHash, t.sessionId, t.parentHash, t.createdAt, t.expiresAt],
    );
    this.#rememberUnused(t.tokenHash, t.sessionId, t.expiresAt);
  }

  /**
   * Finds a refresh token and locks it and its session, so that concurrent rotations of the
   * same session (on any instance) run one after the other. Locking the token row matters:
   * under READ COMMITTED, PostgreSQL re-reads a row locked FOR UPDATE after the other
   * transaction commits, so the second rotation sees `rotated_at` already set.
   */
  lockRefreshToken(tx: Queryable, tokenHash: string): Promise<LockedRefreshToken | undefined> {
    return this.#refreshTokenWithSession(tx, tokenHash, 'FOR UPDATE OF rt, s');
  }

  /**
   * lockRefreshToken's answer without taking locks: what the fast path of a rotation decides
   * on before rotateRefreshToken re-checks, under the locks, what could have changed since.
   */
  async peekRefreshToken(tokenHash: string): Promise<LockedRefreshToken | undefined> {
    const known = this.#unusedRefreshTokens?.get(tokenHash);
    const s = known && (await this.authState(known.sessionId));
    if (known && s && s.principal.kind === 'user') {
      return {
        tokenHash,
        sessionId: s.sessionId,
        audience: s.audience,
        expiresAt: known.expiresAt,
        rotatedAt: null,
        sessionExpiresAt: s.expiresAt,
        sessionRevokedAt: s.revokedAt,
        accessGeneration: s.accessGeneration,
        userAgent: s.userAgent,
        ip: s.ip,
        clientId: s.clientId,
        user: s.principal.user,
      };
    }
    if (this.#refreshBatcher) return this.#refreshBatcher.get(tokenHash);
    return (await this.#refreshTokensWithSessions(this.db, [tokenHash], '')).get(tokenHash);
  }

  async #refreshTokenWithSession(q: Queryable, tokenHash: string, locking: string): Promise<LockedRefreshToken | undefined> {
    return (await this.#refreshTokensWithSessions(q, [tokenHash], locking)).get(tokenHash);
  }

  async #refreshTokensWithSessions(q: Queryable, tokenHashes: string[], locking: string): Promise<Map<string, LockedRefreshToken>> {
    const rows = await q.query<
      AuthStateRow & { token_hash: string; token_expires_at: Date; rotated_at: Date | null }
    >(
      `SELECT rt.token_hash, rt.expires_at AS token_expires_at, rt.rotated_at,
          s.id AS session_id, s.audience, s.access_generation, s.expires_at, s.revoked_at,
          s.user_agent, s.ip AS session_ip, s.client_id, ${USER_COLUMNS}
        FROM refresh_tokens rt
        JOIN sessions s ON s.id = rt.session_id
        JOIN users u ON u.id = s.user_id
        WHERE rt.token_hash = ANY($1::text[])
        ${locking}`,
      [tokenHashes],
    );
    return new Map(
      rows.map((r) => [
        r.token_hash,
        {
          tokenHash: r.token_hash,
          sessionId: r.session_id,
          audience: r.audience,
          expiresAt: r.token_expires_at.getTime(),
          rotatedAt: r.rotated_at?.getTime() ?? null,
          sessionExpiresAt: r.expires_at.getTime(),
          sessionRevokedAt: r.revoked_at?.getTime() ?? null,
          accessGeneration: r.access_generation,
          userAgent: r.user_agent,
          ip: r.session_ip,
          clientId: r.client_id,
          user: toUser(r),
        },
      ]),
    );
  }

  /**
   * Rotates an unused refresh token in one atomic statement: marks it used, moves its
   * session's access generation on by `bumpAccessGeneration` (0 or 1) and inserts its
   * successor, but only if, with their rows locked, the token is still unused and its session
   * still live. The locks are taken in lockRefreshToken's order (token, then session), and
   * under READ COMMITTED each guarded UPDATE re-checks its condition on the row as committed by
   * whoever held the lock before, so of concurrent rotations (on any instance) exactly one
   * finds the token unused. Returns the session's access generation afterwards, or undefined
   * when nothing was rotated: the token was used meanwhile (the caller then decides under
   * lockRefreshToken), or its session was revoked or expired meanwhile (the token is then left
   * marked used without a successor, which changes nothing: a dead session's tokens are refused
   * before their rotation is looked at).
   */
  async rotateRefreshToken(t: Rotation): Promise<number | undefined> {
    if (this.#rotations) return this.#rotations.write(t);
    return this.#rotateOne(t);
  }

  async #rotateOne(t: Rotation): Promise<number | undefined> {
    const rows = await this.db.query<{ session_id: string; access_generation: number }>(
      `WITH parent AS (
          UPDATE refresh_tokens SET rotated_at = $3
           WHERE token_hash = $1 AND rotated_at IS NULL
          RETURNING session_id
        ), live AS (
          UPDATE sessions SET access_generation = access_generation + $5
           WHERE id = (SELECT session_id FROM parent) AND revoked_at IS NULL AND expires_at > $3
          RETURNING id, access_generation
        ), child AS (
          INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
          SELECT $2, live.id, $1, $3, $4 FROM live
          RETURNING token_hash
        )
        SELECT live.id AS session_id, live.access_generation FROM live, child`,
      [t.tokenHash, t.nextHash, t.at, t.nextExpiresAt, t.bumpAccessGeneration],
    );
    this.#unusedRefreshTokens?.delete(t.tokenHash);
    const r = rows[0];
    if (r) this.#rememberUnused(t.nextHash, r.session_id, t.nextExpiresAt);
    return r?.access_generation;
  }

  /**
   * rotateRefreshToken's statement for several rotations at once (WriteBatcher: shared
   * databases only, at most one rotation per session): each row of `input` is guarded as the
   * single statement guards its one, and only the rotations that happened come back.
   */
  async #rotateMany(rotations: Rotation[]): Promise<Map<string, number>> {
    const rows = await this.db.query<{ token_hash: string; access_generation: number }>(
      `WITH input AS (
          SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::int[])
            AS i (token_hash, next_hash, at, next_expires_at, bump)
        ), parent AS (
          UPDATE refresh_tokens r SET rotated_at = i.at
            FROM input i
           WHERE r.token_hash = i.token_hash AND r.rotated_at IS NULL
          RETURNING r.token_hash, r.session_id
        ), live AS (
          UPDATE sessions s SET access_generation = s.access_generation + i.bump
            FROM parent p JOIN input i ON i.token_hash = p.token_hash
           WHERE s.id = p.session_id AND s.revoked_at IS NULL AND s.expires_at > i.at
          RETURNING s.id, s.access_generation, p.token_hash
        ), child AS (
          INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at)
          SELECT i.next_hash, live.id, i.token_hash, i.at, i.next_expires_at
            FROM live JOIN input i ON i.token_hash = live.token_hash
          RETURNING parent_hash
        )
        SELECT live.token_hash, live.access_generation FROM live JOIN child ON child.parent_hash = live.token_hash`,
      [
        rotations.map((r) => r.tokenHash),
        rotations.map((r) => r.nextHash),
        rotations.map((r) => r.at),
        rotations.map((r) => r.nextExpiresAt),
        rotations.map((r) => r.bumpAccessGeneration),
      ],
    );
    return new Map(rows.map((r) => [r.token_hash, r.access_generation]));
  }

  /** Marks a token used; false when it already was (then the caller must treat it as a reuse). */
  async markRefreshTokenRotated(tx: Queryable, tokenHash: string, at: Date): Promise<boolean> {
    this.#unusedRefreshTokens?.delete(tokenHash);
    const rows = await tx.query(
      'UPDATE refresh_tokens SET rotated_at = $2 WHERE token_hash = $1 AND rotated_at IS NULL RETURNING token_hash',
      [tokenHash, at],
    );
    return rows.length === 1;
  }

  /** A refresh token by its hash, without locking (introspection and revocation). */
  async findRefreshToken(tokenHash: string): Promise<StoredRefreshToken | undefined> {
    const rows = await this.db.query<{ session_id: string; created_at: Date; expires_at: Date; rotated_at: Date | null }>(
      'SELECT session_id, created_at, expires_at, rotated_at FROM refresh_tokens WHERE token_hash = $1',
      [tokenHash],
    );
    const r = rows[0];
    return (
      r && {
        sessionId: r.session_id,
        createdAt: r.created_at.getTime(),
        expiresAt: r.expires_at.getTime(),
        rotatedAt: r.rotated_at?.getTime() ?? null,
      }
    );
  }

  /** Compare-and-set of the access generation; undefined when it moved on or the session is revoked. */
  async advanceAccessGeneration(sessionId: string, from: number): Promise<number | undefined> {
    const rows = await this.db.query<{ access_generation: number }>(
      `UPDATE sessions SET access_generation = access_generation + 1
        WHERE id = $1 AND access_generation = $2 AND revoked_at IS NULL RETURNING access_generation`,
      [sessionId, from],
    );
    this.forget(sessionId);
    return rows[0]?.access_generation;
  }

  async bumpAccessGeneration(tx: Queryable, sessionId: string): Promise<number> {
    const rows = await tx.query<{ access_generation: number }>(
      'UPDATE sessions SET access_generation = access_generation + 1 WHERE id = $1 RETURNING access_generation',
      [sessionId],
    );
    return rows[0]!.access_generation;
  }

  // --- administration ---

  async listForUser(userId: number): Promise<SessionSummary[]> {
    const rows = await this.db.query<{
      id: string;
      audience: string;
      created_at: Date;
      expires_at: Date;
      revoked_at: Date | null;
      revoked_reason: string | null;
      user_agent: string | null;
      ip: string | null;
      client_name: string | null;
    }>(
      `SELECT s.id, s.audience, s.created_at, s.expires_at, s.revoked_at, s.revoked_reason, s.user_agent, s.ip, c.name AS client_name
         FROM sessions s LEFT JOIN api_users c ON c.id = s.client_id
        WHERE s.user_id = $1 ORDER BY s.created_at DESC, s.id`,
      [userId],
    );
    return rows.map((r) => ({
      id: r.id,
      audience: r.audience,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      revokedAt: r.revoked_at,
      revokedReason: r.revoked_reason,
      userAgent: r.user_agent,
      ip: r.ip,
      clientId: r.client_name,
    }));
  }

  /**
   * Deletes sessions that ended (expired or were revoked) at or before `endedBy`, with their
   * refresh tokens, and refresh tokens expired at `now`; see Sessions.purge.
   */
  async purge(now: Date, endedBy: Date = now): Promise<PurgeCounts> {
    const [sessions] = await this.db.query<{ expired: number; revoked: number }>(
      `WITH gone AS (DELETE FROM sessions WHERE revoked_at <= $1 OR expires_at <= $1 RETURNING revoked_at)
       SELECT count(*) FILTER (WHERE revoked_at IS NULL)::int AS expired,
              count(*) FILTER (WHERE revoked_at IS NOT NULL)::int AS revoked FROM gone`,
      [endedBy],
    );
    const [tokens] = await this.db.query<{ n: number }>(
      'WITH gone AS (DELETE FROM refresh_tokens WHERE expires_at <= $1 RETURNING 1) SELECT count(*)::int AS n FROM gone',
      [now],
    );
    const cutoff = endedBy.getTime();
    this.#cache?.deleteWhere((s) => (s.revokedAt !== null && s.revokedAt <= cutoff) || s.expiresAt <= cutoff);
    return { expiredSessions: sessions!.expired, revokedSessions: sessions!.revoked, expiredRefreshTokens: tokens!.n };
  }
}
