// Concurrent refreshes with one refresh token, on whichever engine the suite runs on (PGlite,
// or PostgreSQL with TEST_DATABASE_URL, where transactions really run in parallel): never two
// fresh chains outside the documented grace rule.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cocartRefreshToken, cocartValidateToken, dummyjsonMe, dummyjsonRefresh, getMetrics } from '../generated/client/sdk.gen.js';
import { cocartLoginAs, UA } from './helpers/cocart.js';
import { bearer, loginAs } from './helpers/dummyjson.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';

const PARALLEL = 8;

describe('concurrent refreshes of one refresh token', () => {
  let strict: TestServer;
  let lenient: TestServer;
  beforeAll(async () => {
    [strict, lenient] = await Promise.all([
      startTestServer({ REFRESH_REUSE_GRACE_S: '0' }),
      startTestServer({ REFRESH_REUSE_GRACE_S: '30' }),
    ]);
  });
  afterAll(() => Promise.all([strict.close(), lenient.close()]));

  it('CoCart (no grace window): exactly one succeeds, the rest are replays that revoke the session', async () => {
    const login = await cocartLoginAs(strict.client);
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, () =>
        cocartRefreshToken({ client: strict.client, body: { refresh_token: login.extras.jwt_refresh }, headers: { 'User-Agent': UA } }),
      ),
    );
    const ok = results.filter((r) => r.response.status === 200);
    expect(ok).toHaveLength(1);
    expect(results.filter((r) => r.response.status === 403)).toHaveLength(PARALLEL - 1);
    // The replays revoked the session, so the one winner's pair is dead too.
    const validate = await cocartValidateToken({ client: strict.client, headers: { ...bearer(ok[0]!.data!.token), 'User-Agent': UA } });
    expect(validate.response.status).toBe(401);
    const again = await cocartRefreshToken({ client: strict.client, body: { refresh_token: ok[0]!.data!.refresh_token }, headers: { 'User-Agent': UA } });
    expect(again.response.status).toBe(403);
  });

  it('DummyJSON with REFRESH_REUSE_GRACE_S=0: exactly one succeeds and the session is revoked', async () => {
    const login = await loginAs(strict.client, 'michaelw');
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, () => dummyjsonRefresh({ client: strict.client, body: { refreshToken: login.refreshToken } })),
    );
    expect(results.filter((r) => r.response.status === 200)).toHaveLength(1);
    expect((await dummyjsonMe({ client: strict.client, headers: bearer(login.accessToken) })).response.status).toBe(401);
  });

  it('DummyJSON within the grace window: every concurrent tab gets its own working pair', async () => {
    const login = await loginAs(lenient.client, 'sophiab');
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, () => dummyjsonRefresh({ client: lenient.client, body: { refreshToken: login.refreshToken } })),
    );
    expect(results.map((r) => r.response.status)).toEqual(Array(PARALLEL).fill(200));
    const tokens = new Set(results.map((r) => r.data!.refreshToken));
    expect(tokens.size).toBe(PARALLEL);
    for (const r of results) {
      expect((await dummyjsonMe({ client: lenient.client, headers: bearer(r.data!.accessToken) })).response.status).toBe(200);
    }
  });
});

// On PostgreSQL, rotations of different sessions that arrive together are written by one
// statement (src/store/write-batcher.ts); each must still stand or fall on its own.
describe('concurrent refreshes of many sessions', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ REFRESH_REUSE_GRACE_S: '0' });
  });
  afterAll(() => server.close());

  it('rotates each on its own: the live ones get working pairs, a replay among them revokes only its own session', async () => {
    const users = ['emilys', 'michaelw', 'sophiab', 'jamesd', 'emmaj'];
    const logins = await Promise.all(Array.from({ length: 10 }, (_, i) => loginAs(server.client, users[i % users.length])));
    // Session 0's first token is spent before the burst, so presenting it again is a replay.
    const first = await dummyjsonRefresh({ client: server.client, body: { refreshToken: logins[0]!.refreshToken } });
    expect(first.response.status).toBe(200);

    const results = await Promise.all(logins.map((l) => dummyjsonRefresh({ client: server.client, body: { refreshToken: l.refreshToken } })));
    expect(results.map((r) => r.response.status)).toEqual([403, ...Array(9).fill(200)]);
    expect(results[0]!.error).toEqual({ message: 'Invalid refresh token' });

    // The replay revoked session 0, the pair it had handed out included.
    expect((await dummyjsonMe({ client: server.client, headers: bearer(first.data!.accessToken) })).response.status).toBe(401);
    const live = results.slice(1);
    expect(new Set(live.map((r) => r.data!.refreshToken)).size).toBe(9);
    for (const [i, r] of live.entries()) {
      const me = await dummyjsonMe({ client: server.client, headers: bearer(r.data!.accessToken) });
      expect(me.response.status).toBe(200);
      expect(me.data!.username).toBe(users[(i + 1) % users.length]);
      // The new refresh token works once more: the rotation wrote its successor.
      const next = await dummyjsonRefresh({ client: server.client, body: { refreshToken: r.data!.refreshToken } });
      expect(next.response.status).toBe(200);
    }
    // A batch the server refused (a broken statement, say) would have been retried one by one,
    // invisibly but for this counter.
    const metrics = await getMetrics({ client: server.client, parseAs: 'text' });
    expect(metrics.response.status).toBe(200);
    expect(metrics.data as unknown as string).not.toMatch(/^gatehouse_store_batches_retried_total\{/m);
  });
});
