// Durability: a steady stream of registrations, logins, refreshes and logouts against a real
// server process, SIGKILL in the middle of it, a restart on the same data, and then: every
// request that got a 2xx is still in effect (registered customers log in, rotated refresh
// tokens stay dead, logouts hold, live sessions live), and nothing is half-written (no session
// without its refresh token, no rotated token without its successor unless its session was
// revoked). Requests the kill cut off have no known outcome and are not checked, except that
// the data around them must be whole.
//
// On the embedded database in a temporary DATA_DIR always, and on PostgreSQL when
// TEST_DATABASE_URL is set.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Client } from '../generated/client/client/index.js';
import { dummyjsonLogin, dummyjsonLogout, dummyjsonMe, dummyjsonRefresh, mahoRegisterCustomer } from '../generated/client/sdk.gen.js';
import { DUMMYJSON_AUDIENCE } from '../src/dialects/dummyjson/policy.js';
import { openDatabase } from '../src/store/database.js';
import type { DatabaseTarget } from '../src/config.js';
import { bearer } from './helpers/dummyjson.js';
import { testDatabase } from './helpers/gatehouse.js';
import { spawnServer } from './helpers/process.js';

const USERS = ['emilys', 'michaelw', 'sophiab', 'jamesd', 'emmaj', 'oliviaw'];
const WORKERS = 4;

interface Session {
  user: string;
  accessToken: string;
  /** The newest refresh token we were given; older ones were rotated away by a 2xx refresh. */
  refreshToken: string;
  rotatedAway: string[];
  loggedOut: boolean;
  /** A request on this session got no answer: its state in the store is unknown. */
  uncertain: boolean;
}

/** Calls `op`; undefined when the connection died (the server was killed) before an answer. */
async function attempt<T extends { response?: Response }>(op: () => Promise<T>): Promise<(T & { response: Response }) | undefined> {
  try {
    const r = await op();
    return r.response ? (r as T & { response: Response }) : undefined; // the client reports a dead connection without throwing
  } catch {
    return undefined;
  }
}

/** Runs the mixed stream until `stop()`; records every 2xx. */
function stream(client: Client, stamp: string) {
  const registered: Array<{ email: string; password: string }> = [];
  const sessions: Session[] = [];
  let stopped = false;
  let n = 0;
  let cutOff = 0;
  const worker = async (w: number) => {
    while (!stopped) {
      const i = n++;
      const live = sessions.filter((s) => !s.loggedOut && !s.uncertain);
      const pick = live[i % Math.max(1, live.length)];
      const kind = !pick ? 'login' : (['register', 'login', 'refresh', 'refresh', 'logout'] as const)[i % 5]!;
      if (kind === 'register') {
        const email = `durable.${stamp}.${w}.${i}@example.test`;
        const password = `durable passphrase ${i}`;
        const r = await attempt(() => mahoRegisterCustomer({ client, body: { email, password, firstName: 'Dur', lastName: 'Able' } }));
        if (r?.response.status === 201) registered.push({ email, password });
        else if (!r) (stopped = true), cutOff++;
      } else if (kind === 'login') {
        const user = USERS[i % USERS.length]!;
        const r = await attempt(() => dummyjsonLogin({ client, body: { username: user, password: `${user}pass` } }));
        if (r?.response.status === 200) {
          sessions.push({ user, accessToken: r.data!.accessToken, refreshToken: r.data!.refreshToken, rotatedAway: [], loggedOut: false, uncertain: false });
        } else if (!r) (stopped = true), cutOff++;
      } else if (kind === 'refresh') {
        pick!.uncertain = true; // until we know
        const r = await attempt(() => dummyjsonRefresh({ client, body: { refreshToken: pick!.refreshToken } }));
        if (r?.response.status === 200) {
          pick!.rotatedAway.push(pick!.refreshToken);
          pick!.refreshToken = r.data!.refreshToken;
          pick!.accessToken = r.data!.accessToken;
          pick!.uncertain = false;
        } else if (!r) (stopped = true), cutOff++;
      } else {
        pick!.uncertain = true;
        const r = await attempt(() => dummyjsonLogout({ client, headers: bearer(pick!.accessToken) }));
        if (r?.response.status === 200) {
          pick!.loggedOut = true;
          pick!.uncertain = false;
        } else if (!r) (stopped = true), cutOff++;
      }
    }
  };
  const done = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  return { registered, sessions, done, count: () => n, cutOff: () => cutOff };
}

async function crashAndRecover(settings: Record<string, string>, target: DatabaseTarget) {
  // The restart listens on another port: the issuer of the tokens must not change with it.
  const env = { ...settings, PUBLIC_URL: 'http://gatehouse.test', SEED_DEMO: 'true', RATE_LIMITS: 'off', REFRESH_REUSE_GRACE_S: '0' };
  const first = await spawnServer(env);
  const stamp = `${Date.now()}`;
  const load = stream(first.client, stamp);
  // Let the stream run, then kill the server mid-stream, with requests in flight.
  while (load.registered.length < 4 || load.sessions.filter((s) => s.rotatedAway.length > 0).length < 3 || load.sessions.filter((s) => s.loggedOut).length < 2) {
    if (load.count() > 2_000) throw new Error('the stream made no progress');
    await new Promise((r) => setTimeout(r, 50));
  }
  first.child.kill('SIGKILL');
  await first.exited;
  await load.done;
  expect(first.child.signalCode).toBe('SIGKILL');
  expect(load.cutOff(), 'requests were in flight when the server died').toBeGreaterThan(0);

  const second = await spawnServer(env);
  try {
    const { client } = second;
    for (const { email, password } of load.registered) {
      const login = await dummyjsonLogin({ client, body: { username: email, password } });
      expect(login.response.status, `registered ${email} logs in`).toBe(200);
    }
    for (const s of load.sessions) {
      if (s.loggedOut) {
        expect((await dummyjsonMe({ client, headers: bearer(s.accessToken) })).response.status, 'logout holds').toBe(401);
        expect((await dummyjsonRefresh({ client, body: { refreshToken: s.refreshToken } })).response.status).toBe(403);
        continue;
      }
      if (s.uncertain) continue;
      expect((await dummyjsonMe({ client, headers: bearer(s.accessToken) })).response.status, 'a live session lives').toBe(200);
      for (const old of s.rotatedAway) {
        // A rotated token is dead; presenting it is a replay, which revokes the session.
        expect((await dummyjsonRefresh({ client, body: { refreshToken: old } })).response.status, 'rotated stays dead').toBe(403);
      }
      if (s.rotatedAway.length > 0) {
        expect((await dummyjsonMe({ client, headers: bearer(s.accessToken) })).response.status).toBe(401);
      }
    }
  } finally {
    await second.stop();
  }

  // Nothing half-written, looked at directly in the store (the server is stopped).
  const db = await openDatabase(target);
  try {
    const [orphans] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM sessions s
        WHERE s.audience = $1 AND NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)`,
      [DUMMYJSON_AUDIENCE],
    );
    expect(orphans!.n, 'sessions without a refresh token').toBe(0);
    const [halfRotated] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id
        WHERE r.rotated_at IS NOT NULL AND s.revoked_at IS NULL
          AND NOT EXISTS (SELECT 1 FROM refresh_tokens c WHERE c.parent_hash = r.token_hash)`,
    );
    expect(halfRotated!.n, 'rotated tokens without a successor in a live session').toBe(0);
    const [users] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM users WHERE email LIKE $1`, [`durable.${stamp}.%`]);
    expect(users!.n).toBeGreaterThanOrEqual(load.registered.length);
  } finally {
    await db.close();
  }
  return load;
}

describe('SIGKILL in the middle of a stream of writes', () => {
  it('loses nothing that was answered 2xx on the embedded database (DATA_DIR on disk)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-durability-'));
    try {
      const dataDir = join(dir, 'data');
      const load = await crashAndRecover(
        { DATABASE_URL: '', DATA_DIR: dataDir },
        { kind: 'pglite', dataDir },
      );
      expect(load.sessions.length).toBeGreaterThan(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it.runIf(Boolean(process.env.TEST_DATABASE_URL))('loses nothing that was answered 2xx on PostgreSQL', async () => {
    const database = await testDatabase();
    try {
      await crashAndRecover(
        { DATABASE_URL: database.url },
        { kind: 'postgres', url: database.url, timeoutMs: 10_000 },
      );
    } finally {
      await database.drop();
    }
  }, 180_000);
});
