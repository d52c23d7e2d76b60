// The access log: one JSON line per request with id, method, path, status and latency, and
// never a secret — no password, token, cookie or query string.
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cocartRefreshToken, dummyjsonMe, dummyjsonRefresh } from '../generated/client/sdk.gen.js';
import { cocartLoginAs, UA } from './helpers/cocart.js';
import { bearer, loginAs } from './helpers/dummyjson.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({}, { logger: pino({ level: 'info' }, sink) });
});
afterAll(() => t.close());

describe('request logs', () => {
  it('log each request as JSON with id, method, path, status and latency, and no secrets', async () => {
    const dummy = await loginAs(t.client, 'emilys');
    await dummyjsonMe({ client: t.client, headers: { Cookie: `accessToken=${dummy.accessToken}` } });
    await dummyjsonRefresh({ client: t.client, body: { refreshToken: dummy.refreshToken } });
    const cocart = await cocartLoginAs(t.client, 'michaelw');
    await cocartRefreshToken({ client: t.client, query: { refresh_token: cocart.extras.jwt_refresh }, headers: { 'User-Agent': UA } });
    const me = await dummyjsonMe({ client: t.client, headers: { ...bearer(dummy.accessToken), 'X-Request-Id': 'trace-me-42' } });
    await new Promise((r) => setTimeout(r, 50));

    const entries = lines.map((l) => JSON.parse(l));
    const traced = entries.find((e) => e.reqId === 'trace-me-42');
    expect(me.response.headers.get('x-request-id')).toBe('trace-me-42');
    expect(traced).toMatchObject({ level: 30, method: 'GET', path: '/auth/me', status: 200, msg: 'request completed' });
    expect(typeof traced.ms).toBe('number');
    expect(entries.filter((e) => e.msg === 'request completed').length).toBeGreaterThanOrEqual(6);
    expect(entries.find((e) => e.path === '/wp-json/cocart/jwt/refresh-token')).toMatchObject({ status: 200 });

    const log = lines.join('\n');
    for (const secret of [
      'emilyspass',
      'michaelwpass',
      dummy.accessToken,
      dummy.refreshToken,
      cocart.extras.jwt_token,
      cocart.extras.jwt_refresh,
      'refresh_token=',
      'authorization',
      'cookie',
    ]) {
      expect(log.toLowerCase()).not.toContain(secret.toLowerCase());
    }
  });
});
