// Rate-limit counters on a PostgreSQL server: shared in the rate_limits table, keyed by hashes,
// swept when expired, and backed by an in-memory limiter when the server is unreachable.
// (Sharing between two running instances is shown in test/instances.test.ts.)
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonLogin, mahoToken } from '../generated/client/sdk.gen.js';
import { RateLimitedError } from '../src/core/errors.js';
import type { RateLimit } from '../src/config.js';
import { RateLimits } from '../src/core/rate-limits.js';
import { SharedRateLimitStore } from '../src/store/rate-limits.js';
import { openDatabase } from '../src/store/database.js';
import { migrate } from '../src/store/migrate.js';
import { startTestServer, testDatabase, type TestServer } from './helpers/gatehouse.js';

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

describe.runIf(onPostgres)('rate limits on a PostgreSQL server', () => {
  let t: TestServer;
  const rows = async () => t.gatehouse.services.db.query<{ key: string; points: number }>('SELECT key, points FROM rate_limits');
  beforeAll(async () => {
    // A 300 s window, far longer than the tests take; expiry is shown by sweeping "later".
    t = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_IP: '1000/300', RATE_LIMIT_LOGIN_ACCOUNT: '5/300' });
  });
  afterAll(() => t.close());

  it('count in the rate_limits table, under hashed keys: no login or address in clear', async () => {
    const failed = await dummyjsonLogin({ client: t.client, body: { username: 'michaelw', password: 'wrong' } });
    expect(failed.response.status).toBe(400);
    const keys = (await rows()).map((r) => r.key);
    expect(keys).toEqual(expect.arrayContaining([expect.stringMatching(/^login:ip:[0-9a-f]{64}$/), expect.stringMatching(/^login:account:[0-9a-f]{64}$/)]));
    for (const key of keys) {
      expect(key).not.toContain('michaelw');
      expect(key).not.toContain('127.0.0.1');
    }
  });

  it('forget every expired counter at the next sweep, however many distinct usernames were tried', async () => {
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => dummyjsonLogin({ client: t.client, body: { username: `nobody-${i}`, password: 'wrong' } })),
    );
    expect((await rows()).length).toBeGreaterThanOrEqual(41);
    const sweep = t.gatehouse.services.sharedLimits!;
    expect(await sweep.sweep()).toBe(0); // nothing has expired yet: a live window is never lost
    expect(await sweep.sweep(Date.now() + 301_000)).toBeGreaterThanOrEqual(41);
    expect(await rows()).toEqual([]);
  });
});

describe.runIf(onPostgres)('an address past its login limit, sending API client names', () => {
  it('adds no counter per name it sends: the address is counted first, on its own', async () => {
    const t = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_IP: '2/300', RATE_LIMIT_LOGIN_ACCOUNT: '5/300' });
    try {
      const rows = async () => (await t.gatehouse.services.db.query<{ key: string }>('SELECT key FROM rate_limits')).map((r) => r.key).sort();
      const attempt = (name: string) =>
        mahoToken({ client: t.client, body: { grant_type: 'client_credentials', client_id: name, client_secret: 'wrong-secret' } });
      for (const name of ['client-a', 'client-b']) expect((await attempt(name)).response.status).toBe(401);
      const counted = await rows();
      expect(counted.filter((key) => key.startsWith('login:ip:'))).toHaveLength(1);
      expect(counted.filter((key) => key.startsWith('login:account:'))).toHaveLength(2);
      const refused = await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(`client-${i}-flood`)));
      expect(refused.map((r) => r.response.status)).toEqual(Array(20).fill(429));
      expect(await rows()).toEqual(counted);
    } finally {
      await t.close();
    }
  });
});

describe.runIf(onPostgres)('shared counters behind a lock', () => {
  it('are given up by the server too when they wait past the store timeout: no statement is left waiting', async () => {
    const t = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_ACCOUNT: '5/300' });
    const admin = new pg.Client({ connectionString: t.config.database.kind === 'postgres' ? t.config.database.url : '' });
    await admin.connect();
    try {
      const waiting = async () =>
        (await admin.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0]!.n;
      await admin.query('BEGIN');
      await admin.query('LOCK TABLE rate_limits IN ACCESS EXCLUSIVE MODE');
      // Each count waits for the lock, then the attempt is counted in memory instead.
      for (let i = 0; i < 3; i++) {
        const failed = await dummyjsonLogin({ client: t.client, body: { username: 'michaelw', password: 'wrong' } });
        expect(failed.response.status).toBe(400);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(await waiting()).toBe(0);
      await admin.query('COMMIT');
      // Nothing committed late: the attempts were counted in memory, not in the table as well.
      expect((await admin.query('SELECT key FROM rate_limits')).rows).toEqual([]);
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      await admin.end();
      await t.close();
    }
  });
});

describe.runIf(onPostgres)('shared counters, counted in batches', () => {
  it('give every concurrent attempt its own place in the window, across stores as across instances', async () => {
    const { stores, close } = await sharedStores(2);
    try {
      const [a, b] = stores.map((store) => limitsOf({ points: 10, durationS: 60 }, store)) as [RateLimits, RateLimits];
      const key = `batch-${Date.now()}`;
      // 30 attempts at once, split over two stores, several keys in each statement.
      const outcomes = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) => ((i % 2 ? a : b).consume(i % 3 ? 'refresh:account' : 'login:account', `${key}-${i % 3 ? 'r' : 'l'}`))),
      );
      const refused = (i: number) => outcomes[i]!.status === 'rejected';
      const ofLogin = outcomes.map((_, i) => i).filter((i) => i % 3 === 0);
      const ofRefresh = outcomes.map((_, i) => i).filter((i) => i % 3 !== 0);
      expect(ofLogin.filter(refused)).toEqual([]); // 10 login attempts: exactly at the limit
      expect(ofRefresh.filter(refused)).toHaveLength(10); // 20 refresh attempts: 10 over
      for (const i of ofRefresh.filter(refused)) expect((outcomes[i] as PromiseRejectedResult).reason).toBeInstanceOf(RateLimitedError);
      // Refused attempts count too (as in rate-limiter-flexible): the refresh key stays full.
      await expect(a.consume('refresh:account', `${key}-r`)).rejects.toBeInstanceOf(RateLimitedError);
      // A refund gives one place back, seen by the other store.
      await a.refund('login:account', `${key}-l`);
      await b.consume('login:account', `${key}-l`);
      await expect(a.consume('login:account', `${key}-l`)).rejects.toBeInstanceOf(RateLimitedError);
    } finally {
      await close();
    }
  });
});

describe.runIf(onPostgres)('refunds on a shared store', () => {
  it('travel with a later count, and a refund still waiting when the store closes is written before it does', async () => {
    const { stores, close } = await sharedStores(2);
    const [a, b] = stores as [SharedRateLimitStore, SharedRateLimitStore];
    try {
      const [onA, onB] = [limitsOf({ points: 2, durationS: 60 }, a), limitsOf({ points: 2, durationS: 60 }, b)];
      await onA.consume('login:account', 'user:1');
      await onA.consume('login:account', 'user:1');
      // Given back on A without waiting, then counted on A: the refund goes first.
      void onA.refund('login:account', 'user:1');
      await onA.consume('login:account', 'user:1');
      await expect(onA.consume('login:account', 'user:1')).rejects.toBeInstanceOf(RateLimitedError);
      // A refund nobody waits for, then A closes at once: B sees it.
      void onA.refund('login:account', 'user:1');
      void onA.refund('login:account', 'user:1');
      await a.close();
      await onB.consume('login:account', 'user:1');
      await expect(onB.consume('login:account', 'user:1')).rejects.toBeInstanceOf(RateLimitedError);
    } finally {
      await close();
    }
  });
});

describe('a refund after its window ended', () => {
  // One test for both stores: the in-memory counters (PGlite) and, with TEST_DATABASE_URL, the shared table.
  const stores = [{ name: 'in memory', open: async () => undefined }, ...(onPostgres ? [{ name: 'shared', open: () => sharedStores(1) }] : [])];

  it.each(stores)('gives nothing back, so the next window allows no more than its limit ($name)', async ({ open }) => {
    const shared = await open();
    try {
      const limits = limitsOf({ points: 2, durationS: 1 }, shared?.stores[0]);
      const key = `late-${Date.now()}`;
      await limits.consume('login:account', key);
      await limits.consume('login:account', key);
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // the window ends
      await limits.refund('login:account', key);
      await limits.refund('login:account', key);
      await limits.consume('login:account', key);
      await limits.consume('login:account', key);
      await expect(limits.consume('login:account', key)).rejects.toBeInstanceOf(RateLimitedError);
    } finally {
      await shared?.close();
    }
  });
});

describe("an account's counts, per client network and in total", () => {
  const stores = [{ name: 'in memory', open: async () => undefined }, ...(onPostgres ? [{ name: 'shared', open: () => sharedStores(1) }] : [])];

  it.each(stores)('give an attempt one of them refused back to the other, so neither is used up by what the other refused ($name)', async ({ open }) => {
    const shared = await open();
    try {
      const plenty = { points: 1000, durationS: 60 };
      const limits = new RateLimits(
        { enabled: true, loginPerIp: plenty, loginPerAccount: { points: 2, durationS: 60 }, loginPerAccountTotal: { points: 3, durationS: 60 }, refreshPerIp: plenty, refreshPerAccount: plenty },
        shared ? { limiters: shared.stores[0]!.limiters } : {},
      );
      const account = `user:${Date.now()}`;
      const attempt = (ip: string) => limits.consumeAccountAttempt(account, ip);
      const givenBack = () => new Promise((resolve) => setTimeout(resolve, 100)); // give-backs are not awaited
      // A network past its own limit adds nothing to the total: another network still gets the third.
      await attempt('192.0.2.1');
      await attempt('192.0.2.1');
      for (let i = 0; i < 3; i++) await expect(attempt('192.0.2.1')).rejects.toBeInstanceOf(RateLimitedError);
      await givenBack();
      await attempt('198.51.100.1');
      // The total is full now: refused from every network, and given back to the network it came from.
      for (let i = 0; i < 3; i++) await expect(attempt('198.51.100.1')).rejects.toBeInstanceOf(RateLimitedError);
      await givenBack();
      // Once the total has room again (here: as many points given back as it holds over one),
      // that network has used one attempt of its two, not four.
      for (let i = 0; i < 5; i++) await limits.refund('login:account-total', account);
      await attempt('198.51.100.1');
      await expect(attempt('198.51.100.1')).rejects.toBeInstanceOf(RateLimitedError);
    } finally {
      await shared?.close();
    }
  });
});

/** `count` shared stores on one fresh, migrated database (as `count` instances would have); close() drops it. */
async function sharedStores(count: number): Promise<{ stores: SharedRateLimitStore[]; close: () => Promise<void> }> {
  const database = await testDatabase();
  const db = await openDatabase({ kind: 'postgres', url: database.url, timeoutMs: 10_000 });
  await migrate(db);
  await db.close();
  const stores = Array.from({ length: count }, () => SharedRateLimitStore.open(database.url));
  return {
    stores,
    close: async () => {
      await Promise.all(stores.map((s) => s.close()));
      await database.drop();
    },
  };
}

/** Rate limits with `limit` on every bucket, counted in `store` (in memory without one). */
function limitsOf(limit: RateLimit, store?: SharedRateLimitStore): RateLimits {
  return new RateLimits(
    { enabled: true, loginPerIp: limit, loginPerAccount: limit, loginPerAccountTotal: limit, refreshPerIp: limit, refreshPerAccount: limit },
    store ? { limiters: store.limiters } : {},
  );
}

describe('rate limits when the PostgreSQL server cannot be reached', () => {
  it('still limit, per instance, with the in-memory insurance limiter, and report each attempt counted there (not refunds)', async () => {
    const fellBack: string[] = [];
    const store = SharedRateLimitStore.open('postgres://gatehouse@127.0.0.1:1/unreachable', { onFallback: (bucket) => fellBack.push(bucket) });
    try {
      const limits = limitsOf({ points: 2, durationS: 60 }, store);
      await limits.consume('login:account', 'user:1');
      await limits.consume('login:ip', '192.0.2.1');
      await limits.consume('login:account', 'user:1');
      await limits.refund('login:account', 'user:1'); // given back in memory too, and not reported
      await limits.consume('login:account', 'user:1');
      await expect(limits.consume('login:account', 'user:1')).rejects.toBeInstanceOf(RateLimitedError);
      await limits.consume('login:account', 'user:2'); // other keys are unaffected
      expect(fellBack).toEqual(['login:account', 'login:ip', 'login:account', 'login:account', 'login:account', 'login:account']);
    } finally {
      await store.close();
    }
  });
});
