// GET /metrics (Prometheus text, one registry per instance, bounded labels, optional token)
// and GET /readyz (database within a timeout; 503 while draining).
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cocartRefreshToken,
  dummyjsonLogin,
  dummyjsonLogout,
  dummyjsonRefresh,
  getHealth,
  getMetrics,
  getReadiness,
  mahoGetCustomer,
  mahoToken,
} from '../generated/client/sdk.gen.js';
import type { Client } from '../generated/client/client/index.js';
import { cocartLoginAs, UA } from './helpers/cocart.js';
import { bearer, loginAs } from './helpers/dummyjson.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';
import { demoClientToken } from './helpers/maho.js';

/** The value of one series in a Prometheus text exposition, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2]!.split(',');
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}

async function scrape(client: Client, headers: Record<string, string> = {}) {
  const { data, response } = await getMetrics({ client, headers, parseAs: 'text' });
  return { text: data as unknown as string, response };
}

describe('GET /metrics', () => {
  let t: TestServer;
  let other: TestServer;
  beforeAll(async () => {
    [t, other] = await Promise.all([
      startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_ACCOUNT: '2/60', REFRESH_REUSE_GRACE_S: '0' }),
      startTestServer(),
    ]);
  });
  afterAll(() => Promise.all([t.close(), other.close()]));

  it('counts requests by route template, method and status; logins, refreshes, limits and revocations by outcome', async () => {
    const dummy = await loginAs(t.client, 'emilys');
    await dummyjsonLogin({ client: t.client, body: { username: 'michaelw', password: 'wrong' } });
    await dummyjsonLogin({ client: t.client, body: { username: 'michaelw', password: 'wrong' } });
    // Past the account's limit: refused like a wrong password (even the right one), counted as throttled.
    const limited = await dummyjsonLogin({ client: t.client, body: { username: 'michaelw', password: 'michaelwpass' } });
    expect(limited.response.status).toBe(400);
    const rotated = await dummyjsonRefresh({ client: t.client, body: { refreshToken: dummy.refreshToken } });
    expect(rotated.response.status).toBe(200);
    const replay = await dummyjsonRefresh({ client: t.client, body: { refreshToken: dummy.refreshToken } });
    expect(replay.response.status).toBe(403);
    const cocart = await cocartLoginAs(t.client, 'sophiab');
    await cocartRefreshToken({ client: t.client, body: { refresh_token: cocart.extras.jwt_refresh }, headers: { 'User-Agent': UA } });
    const second = await loginAs(t.client, 'jamesd');
    expect((await dummyjsonLogout({ client: t.client, headers: bearer(second.accessToken) })).response.status).toBe(200);
    const service = await demoClientToken(t.client);
    await mahoToken({ client: t.client, body: { grant_type: 'api_user', username: 'demo-api', api_key: 'wrong-key' } });
    expect((await mahoGetCustomer({ client: t.client, path: { id: 123456 }, headers: bearer(service) })).response.status).toBe(404);
    expect((await fetch(`${t.url}/no/such/path/9f1c2e`)).status).toBe(404);

    const { text, response } = await scrape(t.client);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');

    const logins = (grant: string, outcome: string, dialect = 'dummyjson') =>
      sample(text, 'gatehouse_logins_total', { dialect, grant, outcome });
    expect(logins('password', 'success')).toBe(2);
    expect(logins('password', 'invalid_credentials')).toBe(3);
    expect(logins('password', 'rate_limited')).toBeUndefined();
    expect(logins('password', 'success', 'cocart')).toBe(1);
    expect(logins('client_credentials', 'success', 'maho')).toBe(1);
    expect(logins('api_user', 'invalid_credentials', 'maho')).toBe(1);
    expect(sample(text, 'gatehouse_refreshes_total', { dialect: 'dummyjson', outcome: 'success' })).toBe(1);
    expect(sample(text, 'gatehouse_refreshes_total', { dialect: 'dummyjson', outcome: 'replay' })).toBe(1);
    expect(sample(text, 'gatehouse_refreshes_total', { dialect: 'cocart', outcome: 'success' })).toBe(1);
    // The throttled account was refused like a wrong password, and is not reported here either
    // (a reader could tell real accounts from unknown ones by it: test/security/throttling.test.ts).
    expect(sample(text, 'gatehouse_rate_limited_total', { bucket: 'login:account' })).toBeUndefined();
    expect(sample(text, 'gatehouse_sessions_revoked_total', { reason: 'refresh_token_reuse' })).toBe(1);
    expect(sample(text, 'gatehouse_sessions_revoked_total', { reason: 'logout' })).toBe(1);

    const requests = (route: string, method: string, status: string) =>
      sample(text, 'gatehouse_http_requests_total', { route, method, status });
    expect(requests('/auth/login', 'POST', '200')).toBe(2);
    expect(requests('/auth/login', 'POST', '400')).toBe(3);
    expect(requests('/auth/login', 'POST', '429')).toBeUndefined();
    expect(requests('/api/rest/v2/customers/{id}', 'GET', '404')).toBe(1);
    expect(requests('unmatched', 'GET', '404')).toBe(1);
    expect(sample(text, 'gatehouse_http_request_duration_seconds_count', { route: '/auth/login', method: 'POST', status: '200' })).toBe(2);
    expect(sample(text, 'gatehouse_http_request_duration_seconds_bucket', { route: '/auth/login', method: 'POST', status: '200', le: '+Inf' })).toBe(2);
    // Raw URLs never become labels. (Label values only: a duration may hold the same digits.)
    const labelValues = [...text.matchAll(/="([^"]*)"/g)].map((m) => m[1]!);
    expect(labelValues).toContain('/api/rest/v2/customers/{id}');
    expect(labelValues.filter((v) => /123456|9f1c2e/.test(v))).toEqual([]);
    expect(text).toContain('process_cpu_user_seconds_total');
  });

  it('keeps one registry per instance', async () => {
    const { text } = await scrape(other.client);
    expect(sample(text, 'gatehouse_logins_total', { dialect: 'dummyjson', grant: 'password', outcome: 'success' })).toBeUndefined();
    expect(sample(text, 'gatehouse_http_requests_total', { route: '/auth/login', method: 'POST', status: '200' })).toBeUndefined();
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('GET /metrics when the shared rate-limit counters fail (PostgreSQL)', () => {
  it('counts each attempt made in memory instead, by bucket, and the limits still hold', async () => {
    const t = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_ACCOUNT: '2/60' });
    try {
      const wrong = () => dummyjsonLogin({ client: t.client, body: { username: 'michaelw', password: 'wrong' } });
      expect((await wrong()).response.status).toBe(400); // counted on PostgreSQL: no fallback
      const before = await scrape(t.client);
      expect(sample(before.text, 'gatehouse_rate_limit_fallbacks_total', { bucket: 'login:ip' })).toBeUndefined();
      expect(sample(before.text, 'gatehouse_rate_limit_fallbacks_total', { bucket: 'login:account' })).toBeUndefined();
      // The counters' table disappears under the running server: every count now fails.
      const admin = new pg.Client({ connectionString: t.config.database.kind === 'postgres' ? t.config.database.url : '' });
      await admin.connect();
      await admin.query('DROP TABLE rate_limits');
      await admin.end();

      // The memory starts afresh: two attempts more before the account's limit of 2 refuses.
      expect((await wrong()).response.status).toBe(400);
      expect((await wrong()).response.status).toBe(400);
      // Refused like a wrong password even with the right one (see password-login.ts).
      const limited = await dummyjsonLogin({ client: t.client, body: { username: 'michaelw', password: 'michaelwpass' } });
      expect(limited.response.status).toBe(400);

      const { text } = await scrape(t.client);
      expect(sample(text, 'gatehouse_rate_limit_fallbacks_total', { bucket: 'login:ip' })).toBe(3);
      expect(sample(text, 'gatehouse_rate_limit_fallbacks_total', { bucket: 'login:account' })).toBe(3);
    } finally {
      await t.close();
    }
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  const TOKEN = 'scrape-secret-0123456789';
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ METRICS_TOKEN: TOKEN });
  });
  afterAll(() => t.close());

  it.each([
    ['no Authorization', {}],
    ['a wrong token', bearer('scrape-secret-0123456780')],
    ['a prefix of the token', bearer(TOKEN.slice(0, -1))],
    ['another scheme', { Authorization: `Basic ${TOKEN}` }],
  ])('answers 401 with WWW-Authenticate to %s', async (_name, headers) => {
    const { error, response } = await getMetrics({ client: t.client, headers });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(error).toEqual({ message: 'A valid metrics token is required' });
  });

  it('serves the metrics to the token', async () => {
    const { text, response } = await scrape(t.client, bearer(TOKEN));
    expect(response.status).toBe(200);
    expect(text).toContain('# TYPE gatehouse_http_requests_total counter');
  });
});

describe('GET /readyz', () => {
  it('is 200 while the database answers, 503 draining after SIGTERM, 503 unavailable without a database; /healthz stays liveness', async () => {
    const t = await startTestServer();
    try {
      const ready = await getReadiness({ client: t.client });
      expect(ready.response.status).toBe(200);
      expect(ready.data).toEqual({ status: 'ready' });

      t.gatehouse.drain();
      const draining = await getReadiness({ client: t.client });
      expect(draining.response.status).toBe(503);
      expect(draining.error).toEqual({ status: 'draining' });
      expect((await getHealth({ client: t.client })).response.status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('is 503 unavailable when the database does not answer', async () => {
    const t = await startTestServer();
    try {
      await t.gatehouse.services.db.close();
      const down = await getReadiness({ client: t.client });
      expect(down.response.status).toBe(503);
      expect(down.error).toEqual({ status: 'unavailable' });
    } finally {
      await t.close();
    }
  });
});
