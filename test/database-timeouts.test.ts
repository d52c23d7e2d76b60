// DATABASE_TIMEOUT_MS on a PostgreSQL server: a request never waits for the database longer
// than the bound (a row lock held elsewhere, a network path gone silent), it answers the usual
// 500 instead, /readyz answers 503, and the server serves again once the database answers.
// Migrations alone wait past the bound (for another instance's migration).
//
// Runs when TEST_DATABASE_URL is set (CI's second pass); the embedded database has no network
// and no other process to wait for.
import { createServer, connect as connectTcp, type AddressInfo, type Socket } from 'node:net';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { dummyjsonLogin, getReadiness, mahoChangePassword, mahoToken } from '../generated/client/sdk.gen.js';
import { refusedByServer } from '../src/store/database.js';
import { MIGRATION_LOCK_KEY } from '../src/store/migrate.js';
import { bearer } from './helpers/dummyjson.js';
import { startTestServer, testDatabase, type TestServer } from './helpers/gatehouse.js';
import { customerToken, mahoError } from './helpers/maho.js';

const TIMEOUT_MS = 1_000;
/** Waiting for a connection, then for one statement up to its client-side backstop (a second more), plus slack for a busy machine. */
const ANSWERED_WITHIN_MS = TIMEOUT_MS + (TIMEOUT_MS + 1_000) + 1_500;
/** Where a request counts as hanging (the test fails rather than waiting for ever). */
const HANGING_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(work: Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await work;
  return { value, ms: Date.now() - started };
}

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  return client;
}

/**
 * A TCP relay to PostgreSQL that can go silent, as a stalled network path does: it keeps every
 * connection open and accepts new ones, but forwards nothing (holding it) until resumed.
 */
async function openRelay(to: URL) {
  let silent = false;
  let held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const forward = (action: () => void) => (silent ? held.push(action) : action());
  const server = createServer((downstream) => {
    const upstream = connectTcp(Number(to.port), to.hostname);
    for (const [from, into] of [
      [downstream, upstream],
      [upstream, downstream],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => forward(() => into.write(chunk)));
      from.on('end', () => forward(() => into.end()));
      from.on('error', () => forward(() => into.destroy()));
      from.on('close', () => sockets.delete(from));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(to);
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    silence() {
      silent = true;
    },
    resume() {
      silent = false;
      const actions = held;
      held = [];
      for (const action of actions) action();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Backends of the connection's database waiting for a lock (a statement nobody waits for any more, if not 0). */
async function lockWaiters(on: pg.Client): Promise<number> {
  const { rows } = await on.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
  );
  return rows[0]!.n;
}

describe.runIf(Boolean(process.env.TEST_DATABASE_URL))(`waits for PostgreSQL bounded by DATABASE_TIMEOUT_MS=${TIMEOUT_MS}`, () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function database() {
    const db = await testDatabase();
    cleanup.push(db.drop);
    return db;
  }
  /** A server on the database at `url` (the test drops the database). */
  async function serve(url: string): Promise<TestServer> {
    const server = await startTestServer({ DATABASE_URL: url, DATABASE_TIMEOUT_MS: String(TIMEOUT_MS) });
    cleanup.push(() => server.close());
    return server;
  }
  /** A connection of the test's own, as another instance would hold one. */
  async function holder(url: string): Promise<pg.Client> {
    const client = await connect(url);
    cleanup.push(() => client.end());
    return client;
  }
  const login = (server: TestServer) =>
    dummyjsonLogin({ client: server.client, body: { username: 'emilys', password: 'emilyspass' }, signal: AbortSignal.timeout(HANGING_MS) });
  const readiness = (server: TestServer) => getReadiness({ client: server.client, signal: AbortSignal.timeout(HANGING_MS) });

  it('answers 500 within the bound while another connection holds a row it needs, and serves once it is free', async () => {
    const { url } = await database();
    const server = await serve(url);
    const token = await customerToken(server.client);
    const changePassword = () =>
      mahoChangePassword({
        client: server.client,
        headers: bearer(token),
        body: { currentPassword: 'emilyspass', newPassword: 'a new passphrase 0815' },
        signal: AbortSignal.timeout(HANGING_MS),
      });
    const other = await holder(url);
    await other.query('BEGIN');
    await other.query(`SELECT id FROM users WHERE username = 'emilys' FOR UPDATE`);

    // A login opens its session under FOR KEY SHARE of the user's row; a password change runs
    // in a transaction that locks the row FOR UPDATE. Both wait for the lock, up to the bound.
    const [loginRefused, changeRefused] = await Promise.all([timed(login(server)), timed(changePassword())]);
    expect(loginRefused.value.response.status).toBe(500);
    expect(loginRefused.value.error).toEqual({ message: 'Internal server error' });
    expect(changeRefused.value.response.status).toBe(500);
    expect(changeRefused.value.error).toEqual(mahoError(500, 'internal_error', 'Internal server error'));
    expect(loginRefused.ms).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(loginRefused.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    expect(changeRefused.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    // The server gave up too (lock_timeout), not only the client: nothing is left waiting.
    expect(await lockWaiters(other)).toBe(0);

    await other.query('COMMIT');
    expect((await login(server)).response.status).toBe(200);
    expect((await changePassword()).response.status).toBe(200);
  });

  it('answers every write of a batch that timed out at once, without trying each again alone', async () => {
    const { url } = await database();
    const server = await serve(url);
    const other = await holder(url);
    await other.query('BEGIN');
    // What deactivating the API client holds: every new session of it waits for the row.
    await other.query(`SELECT id FROM api_users WHERE name = 'demo-client' FOR UPDATE`);
    const grant = () =>
      mahoToken({
        client: server.client,
        body: { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret' },
        signal: AbortSignal.timeout(HANGING_MS),
      });
    const answers = await Promise.all(Array.from({ length: 8 }, () => timed(grant())));
    for (const { value, ms } of answers) {
      expect(value.response.status).toBe(500);
      expect(value.error).toEqual(mahoError(500, 'internal_error', 'Internal server error'));
      expect(ms).toBeLessThan(ANSWERED_WITHIN_MS);
    }
    // A timeout is no refusal over the batch's rows: trying each write alone would wait again.
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^gatehouse_logins_total\{dialect="maho",grant="client_credentials",outcome="error"\} 8$/m);
    expect(metrics).not.toMatch(/^gatehouse_store_batches_retried_total\{/m);
    expect(await lockWaiters(other)).toBe(0);

    await other.query('COMMIT');
    expect((await grant()).response.status).toBe(200);
  });

  it('migrates at start after waiting longer than the bound for another migration', async () => {
    const { url } = await database();
    const other = await holder(url);
    await other.query('BEGIN');
    await other.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);

    const starting = serve(url);
    // Past the bound and past the client-side backstop a second after it, still waiting.
    const meanwhile = await Promise.race([
      starting.then(() => 'started', (err: unknown) => err),
      sleep(TIMEOUT_MS + 1_000 + 1_500).then(() => 'waiting'),
    ]);
    expect(meanwhile).toBe('waiting');
    await other.query('COMMIT');

    const server = await starting;
    expect((await login(server)).response.status).toBe(200);
    // The bound was in force all along for everything else.
    expect(await server.gatehouse.services.db.query('SHOW statement_timeout')).toEqual([{ statement_timeout: '1s' }]);
    expect(await server.gatehouse.services.db.query('SHOW lock_timeout')).toEqual([{ lock_timeout: '1s' }]);
  });

  it('answers 500 within the bound and is not ready while the network to the database is silent, and recovers', async () => {
    const { url } = await database();
    const relay = await openRelay(new URL(url));
    cleanup.push(() => relay.close());
    const server = await serve(relay.url);
    cleanup.push(async () => relay.resume()); // before the server closes its connections
    expect((await login(server)).response.status).toBe(200);
    expect((await readiness(server)).response.status).toBe(200);

    relay.silence();
    const db = server.gatehouse.services.db;
    const [transaction, refused, unready] = await Promise.all([
      // On a connection already open (the pool keeps the ones the login used): its BEGIN gets no answer.
      timed(db.transaction((tx) => tx.query('SELECT 1')).then(() => undefined, (err: unknown) => err)),
      timed(login(server)),
      readiness(server),
    ]);
    expect(transaction.value).toMatchObject({ message: 'Query read timeout' });
    expect(refusedByServer(transaction.value)).toBe(false);
    expect(transaction.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    expect(refused.value.response.status).toBe(500);
    expect(refused.value.error).toEqual({ message: 'Internal server error' });
    expect(refused.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    expect(unready.response.status).toBe(503);
    expect(unready.error).toEqual({ status: 'unavailable' });

    relay.resume();
    await expect.poll(async () => (await readiness(server)).response.status, { timeout: HANGING_MS }).toBe(200);
    expect((await login(server)).response.status).toBe(200);
    // The connection whose BEGIN got no answer was destroyed, not given back to the pool:
    // answered late, it would have run the next caller's statements in a transaction never committed.
    await sleep(500);
    const admin = await holder(url);
    const { rows } = await admin.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
    );
    expect(rows).toEqual([{ n: 0 }]);
  });
});
