// A login races a password change or a deactivation: the login has checked the old password
// (or the still-active user) when the change commits and revokes every session. The login must
// then open nothing; a session opened after the revocation would outlive it (and, after a
// deactivation, come back to life on reactivation). The race is made certain by running the
// change inside the login, right after its password check (the hasher's verify is wrapped):
// the real change, through core, at the worst moment. On both engines. On PostgreSQL the two
// also overlap for real, each order held open by a second connection, which shows the row
// locks at work (UserStore.changeCredentials, SessionStore's guarded inserts).
import { hash } from '@node-rs/argon2';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonLogin, dummyjsonMe, mahoToken, oauthToken } from '../generated/client/sdk.gen.js';
import { bearer } from './helpers/dummyjson.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';
import { mahoError } from './helpers/maho.js';
import { basic, newOAuthClient } from './helpers/oauth.js';
import type { User } from '../src/core/users.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const OLD = 'the old passphrase 1';
const NEW = 'the new passphrase 2';
const CALLER = { ip: '127.0.0.1', userAgent: null }; // of the password change

/** A new user with password OLD; `weak` stores it with weaker argon2id parameters (rehashed at login). */
async function newUser(weak = false) {
  const name = `racer${Math.random().toString(36).slice(2, 10)}`;
  const passwordHash = weak
    ? await hash(OLD, { algorithm: 2, memoryCost: 4_096, timeCost: 1, parallelism: 1 })
    : await t.gatehouse.services.passwords.hash(OLD);
  return t.gatehouse.services.users.insert({ username: name, email: `${name}@example.test`, passwordHash }, new Date(t.clock.now()));
}

/** Runs `change` once, inside the next password verification, right after it succeeded. */
function duringNextLogin(change: () => Promise<unknown>): void {
  const passwords = t.gatehouse.services.passwords;
  const verify = passwords.verify.bind(passwords);
  passwords.verify = async (stored, given) => {
    passwords.verify = verify;
    const ok = await verify(stored, given);
    await change();
    return ok;
  };
}

const liveSessions = async (userId: number) =>
  (await t.gatehouse.services.sessions.listForUser(userId)).filter((s) => s.revokedAt === null);

const dummyjson = (username: string, password: string) => dummyjsonLogin({ client: t.client, body: { username, password } });

describe('a login that checked the old password while it was changed', () => {
  it('opens no session (DummyJSON, a session with a refresh token); the new password works', async () => {
    const user = await newUser();
    const keep = await dummyjson(user.username, OLD);
    expect(keep.response.status).toBe(200);
    const keptSession = (await liveSessions(user.id))[0]!.id;
    duringNextLogin(() => t.gatehouse.services.accounts.changePassword(user, OLD, NEW, keptSession, CALLER));
    const raced = await dummyjson(user.username, OLD);
    expect(raced.response.status).toBe(400);
    expect(raced.error).toEqual({ message: 'Invalid credentials' });
    expect((await liveSessions(user.id)).map((s) => s.id)).toEqual([keptSession]);
    expect((await dummyjson(user.username, OLD)).response.status).toBe(400);
    expect((await dummyjson(user.username, NEW)).response.status).toBe(200);
  });

  it('opens no session (Maho customer, a session without a refresh token)', async () => {
    const user = await newUser();
    duringNextLogin(() => t.gatehouse.services.accounts.changePassword(user, OLD, NEW, 'no-session-kept', CALLER));
    const raced = await mahoToken({ client: t.client, body: { email: user.email, password: OLD } });
    expect(raced.response.status).toBe(401);
    expect(raced.error).toEqual(mahoError(401, 'invalid_credentials', 'Invalid email or password'));
    expect(await liveSessions(user.id)).toEqual([]);
  });

  it('lets two logins that upgrade the same old hash both in (the second finds the first one\'s hash)', async () => {
    const user = await newUser(true);
    let inner: Awaited<ReturnType<typeof dummyjson>> | undefined;
    duringNextLogin(async () => {
      inner = await dummyjson(user.username, OLD);
    });
    const outer = await dummyjson(user.username, OLD);
    expect(inner?.response.status).toBe(200);
    expect(outer.response.status).toBe(200);
    expect(await liveSessions(user.id)).toHaveLength(2);
  });

  it('does not write the old password back when its hash was due for an upgrade', async () => {
    const user = await newUser(true);
    duringNextLogin(() => t.gatehouse.services.accounts.changePassword(user, OLD, NEW, 'no-session-kept', CALLER));
    expect((await dummyjson(user.username, OLD)).response.status).toBe(400);
    expect(await liveSessions(user.id)).toEqual([]);
    expect((await dummyjson(user.username, OLD)).response.status).toBe(400);
    expect((await dummyjson(user.username, NEW)).response.status).toBe(200);
  });
});

describe('a login that found the user active while they were deactivated', () => {
  it('opens no session, so none comes back when the user is activated again', async () => {
    const user = await newUser();
    duringNextLogin(() => t.gatehouse.services.accounts.setActive(user.id, false));
    const raced = await dummyjson(user.username, OLD);
    expect(raced.response.status).toBe(400);
    expect(await liveSessions(user.id)).toEqual([]);
    await t.gatehouse.services.accounts.setActive(user.id, true);
    expect(await liveSessions(user.id)).toEqual([]);
    const again = await dummyjson(user.username, OLD);
    expect(again.response.status).toBe(200);
    expect((await dummyjsonMe({ client: t.client, headers: bearer(again.data!.accessToken) })).response.status).toBe(200);
  });
});

describe("a token request that found its API client active while it was deactivated", () => {
  const liveOf = async (apiUserId: number) =>
    (await t.gatehouse.services.db.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE (api_user_id = $1 OR client_id = $1) AND revoked_at IS NULL', [apiUserId]))[0]!.n;

  it('opens no session for the client (Maho client_credentials), so none comes back on reactivation', async () => {
    const client = await newOAuthClient(t, ['client_credentials']);
    const principals = t.gatehouse.services.servicePrincipals;
    const authenticate = principals.authenticate.bind(principals);
    principals.authenticate = async (...args) => {
      principals.authenticate = authenticate;
      const found = await authenticate(...args);
      await principals.setActive(found.id, false);
      return found;
    };
    const raced = await mahoToken({ client: t.client, body: { grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret } });
    expect(raced.response.status).toBe(401);
    expect(raced.error).toEqual(mahoError(401, 'invalid_client', 'Invalid client credentials'));
    await principals.setActive(client.principal.id, true);
    expect(await liveOf(client.principal.id)).toBe(0);
  });

  it("opens no user session issued to it (OAuth password grant)", async () => {
    const client = await newOAuthClient(t, ['password']);
    const user = await newUser();
    duringNextLogin(() => t.gatehouse.services.servicePrincipals.setActive(client.principal.id, false));
    const raced = await oauthToken({ client: t.client, body: { grant_type: 'password', username: user.username, password: OLD }, headers: basic(client.id, client.secret) });
    expect(raced.response.status).toBe(400);
    expect(raced.error).toEqual({ error: 'invalid_grant', error_description: 'Invalid username or password' });
    await t.gatehouse.services.servicePrincipals.setActive(client.principal.id, true);
    expect(await liveOf(client.principal.id)).toBe(0);
    expect(await liveSessions(user.id)).toEqual([]);
  });
});

describe.runIf(Boolean(process.env.TEST_DATABASE_URL))('on PostgreSQL, a login and a change at the same time', () => {
  const connect = async () => {
    const database = t.config.database;
    const c = new pg.Client({ connectionString: database.kind === 'postgres' ? database.url : '' });
    await c.connect();
    return c;
  };
  /** Resolves once some statement of this database waits for a row lock, or `done` settles. */
  async function lockWaitOr(watch: pg.Client, done: Promise<unknown>): Promise<'waiting' | 'done'> {
    let settled = false;
    void done.finally(() => (settled = true)).catch(() => undefined);
    for (let i = 0; i < 200 && !settled; i++) {
      const { rows } = await watch.query(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      if (rows[0].n > 0) return 'waiting';
      await new Promise((r) => setTimeout(r, 25));
    }
    return settled ? 'done' : 'waiting';
  }

  /** A user, a connection that holds one side of the race open, and one that watches for lock waits. */
  async function race(play: (user: User, held: pg.Client, watch: pg.Client) => Promise<void>): Promise<void> {
    const user = await newUser();
    const [held, watch] = [await connect(), await connect()];
    try {
      await play(user, held, watch);
    } finally {
      await Promise.all([held.end(), watch.end()]);
    }
  }

  it('a login reaching its session while a change holds the user waits, then opens nothing', () =>
    race(async (user, change, watch) => {
      // What changeCredentials does, held open: the row FOR UPDATE, the new hash, not committed.
      await change.query('BEGIN');
      await change.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [user.id]);
      await change.query('UPDATE users SET password_hash = $2 WHERE id = $1', [user.id, await t.gatehouse.services.passwords.hash(NEW)]);
      const login = dummyjson(user.username, OLD); // checks the committed (old) hash, then opens its session
      expect(await lockWaitOr(watch, login)).toBe('waiting');
      await change.query("UPDATE sessions SET revoked_at = now(), revoked_reason = 'password_change' WHERE user_id = $1 AND revoked_at IS NULL", [user.id]);
      await change.query('COMMIT');
      const raced = await login;
      expect(raced.response.status).toBe(400);
      expect(await liveSessions(user.id)).toEqual([]);
    }));

  it('a change reaching the user while a login holds it waits, then revokes that login\'s session', () =>
    race(async (user, login, watch) => {
      // What a login's guarded insert does, held open: the row FOR KEY SHARE, a session, not committed.
      await login.query('BEGIN');
      await login.query('SELECT id FROM users WHERE id = $1 FOR KEY SHARE', [user.id]);
      await login.query(
        "INSERT INTO sessions (id, user_id, audience, created_at, expires_at) VALUES ('held-login', $1, 'gatehouse:dummyjson', now(), now() + interval '1 hour')",
        [user.id],
      );
      const change = t.gatehouse.services.accounts.changePassword(user, OLD, NEW, 'no-session-kept', CALLER);
      expect(await lockWaitOr(watch, change)).toBe('waiting');
      await login.query('COMMIT');
      await change;
      const [held] = await t.gatehouse.services.sessions.listForUser(user.id);
      expect(held).toMatchObject({ id: 'held-login', revokedReason: 'password_change' });
    }));

  it('a token request reaching its session while its API client is being deactivated waits, then opens nothing', () =>
    race(async (_user, change, watch) => {
      const client = await newOAuthClient(t, ['client_credentials']);
      // What ServicePrincipalRows.changeActive does, held open: the row FOR UPDATE, inactive, not committed.
      await change.query('BEGIN');
      await change.query('SELECT id FROM api_users WHERE id = $1 FOR UPDATE', [client.principal.id]);
      await change.query('UPDATE api_users SET active = false WHERE id = $1', [client.principal.id]);
      const request = oauthToken({ client: t.client, body: { grant_type: 'client_credentials' }, headers: basic(client.id, client.secret) });
      expect(await lockWaitOr(watch, request)).toBe('waiting');
      await change.query('COMMIT');
      const raced = await request;
      expect(raced.response.status).toBe(401);
      expect(raced.error).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
    }));
});
