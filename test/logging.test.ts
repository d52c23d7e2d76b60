// The access log: one JSON line per request with id, method, path, status and latency, and
// never a secret. The second test drives every way a secret enters Gatehouse (passwords in
// JSON and forms, Basic and Bearer headers, cookies, refresh tokens in bodies and query
// strings, client secrets, api keys) with logging at its most verbose, then greps the log.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cocartLogin,
  cocartLogout,
  cocartRefreshToken,
  cocartValidateToken,
  dummyjsonLogin,
  dummyjsonLogout,
  dummyjsonMe,
  dummyjsonRefresh,
  mahoChangePassword,
  mahoGetMe,
  mahoLogout,
  mahoRefresh,
  mahoRegisterCustomer,
  mahoToken,
} from '../generated/client/sdk.gen.js';
import { createLogger } from '../src/http/logging.js';
import { basic, cocartLoginAs, UA } from './helpers/cocart.js';
import { bearer, loginAs } from './helpers/dummyjson.js';
import { FORM, formBody, startTestServer, type TestServer } from './helpers/gatehouse.js';
import { mahoTokenFor } from './helpers/maho.js';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    done();
  },
});

let t: TestServer;
beforeAll(async () => {
  // The server's own logger factory (with its redaction), at the most verbose level.
  t = await startTestServer({}, { logger: createLogger('trace', sink) });
});
afterAll(() => t.close());

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('request logs', () => {
  it('log each request as JSON with id, method, path, status and latency', async () => {
    const dummy = await loginAs(t.client, 'emilys');
    const me = await dummyjsonMe({ client: t.client, headers: { ...bearer(dummy.accessToken), 'X-Request-Id': 'trace-me-42' } });
    await settle();

    const entries = lines.map((l) => JSON.parse(l));
    const traced = entries.find((e) => e.reqId === 'trace-me-42');
    expect(me.response.headers.get('x-request-id')).toBe('trace-me-42');
    expect(traced).toMatchObject({ level: 30, method: 'GET', path: '/auth/me', status: 200, msg: 'request completed' });
    expect(typeof traced.ms).toBe('number');
    expect(entries.find((e) => e.path === '/auth/login')).toMatchObject({ method: 'POST', status: 200 });
  });

  it('log the path as it arrived, without its query string, cut at 2,048 characters', async () => {
    const secret = 'query-secret-0b6f2c9e';
    const queried = await fetch(`${t.url}/auth/me?refresh_token=${secret}&next=/auth/login`, { headers: { 'X-Request-Id': 'query-1' } });
    const long = `/${'a'.repeat(4999)}`;
    const cut = await fetch(`${t.url}${long}`, { headers: { 'X-Request-Id': 'long-path-2' } });
    await settle();

    const entries = lines.map((l) => JSON.parse(l));
    const query = entries.find((e) => e.reqId === 'query-1');
    expect(query).toMatchObject({ method: 'GET', path: '/auth/me', status: queried.status });
    expect(query).not.toHaveProperty('pathTruncated');
    expect(lines.join('\n')).not.toContain(secret);
    const longest = entries.find((e) => e.reqId === 'long-path-2');
    expect(longest).toMatchObject({ method: 'GET', path: long.slice(0, 2048), pathTruncated: true, status: cut.status });
  });

  it('never contain a secret sent or issued, in any dialect, on success or failure', async () => {
    const secrets: string[] = [];
    const keep = <T extends string | undefined>(...values: T[]) => {
      for (const v of values) if (v) secrets.push(v);
    };
    const before = lines.length;
    let requests = 0;
    const count = async <R>(p: Promise<R>) => {
      requests++;
      return p;
    };

    // DummyJSON: JSON and form logins, Bearer and cookie requests, refresh by body and cookie.
    const dummy = await loginAs(t.client, 'emilys');
    requests++;
    keep('emilyspass', dummy.accessToken, dummy.refreshToken);
    const form = await count(
      dummyjsonLogin({ client: t.client, body: { username: 'michaelw', password: 'michaelwpass' } as never, headers: FORM, bodySerializer: formBody }),
    );
    keep('michaelwpass', form.data!.accessToken, form.data!.refreshToken);
    await count(dummyjsonLogin({ client: t.client, body: { username: 'emilys', password: 'wrong-password-4d1a' } }));
    keep('wrong-password-4d1a');
    const cookieHeader = `accessToken=${form.data!.accessToken}; refreshToken=${form.data!.refreshToken}`;
    keep(cookieHeader);
    await count(dummyjsonMe({ client: t.client, headers: { Cookie: cookieHeader } }));
    await count(dummyjsonMe({ client: t.client, headers: bearer(dummy.accessToken) }));
    keep(`Bearer ${dummy.accessToken}`);
    const viaBody = await count(dummyjsonRefresh({ client: t.client, body: { refreshToken: dummy.refreshToken } }));
    keep(viaBody.data!.accessToken, viaBody.data!.refreshToken);
    const viaCookie = await count(dummyjsonRefresh({ client: t.client, body: {} as never, headers: { Cookie: `refreshToken=${viaBody.data!.refreshToken}` } }));
    keep(viaCookie.data!.accessToken, viaCookie.data!.refreshToken);
    await count(dummyjsonRefresh({ client: t.client, body: { refreshToken: dummy.refreshToken } })); // a replay
    await count(dummyjsonLogout({ client: t.client, headers: { Cookie: `accessToken=${viaCookie.data!.accessToken}` } }));

    // CoCart: Basic header, body login, refresh by query string and body, validate, logout.
    const basicHeader = basic('sophiab', 'sophiabpass');
    keep(basicHeader, basicHeader.slice('Basic '.length), 'sophiabpass');
    const viaBasic = await count(cocartLogin({ client: t.client, body: {} as never, headers: { Authorization: basicHeader, 'User-Agent': UA } }));
    keep(viaBasic.data!.extras.jwt_token, viaBasic.data!.extras.jwt_refresh);
    await count(cocartLogin({ client: t.client, body: {} as never, headers: { Authorization: basic('sophiab', 'wrong-cocart-77'), 'User-Agent': UA } }));
    keep('wrong-cocart-77');
    const cocart = await cocartLoginAs(t.client, 'jamesd');
    requests++;
    keep('jamesdpass', cocart.extras.jwt_token, cocart.extras.jwt_refresh);
    const byQuery = await count(
      cocartRefreshToken({ client: t.client, query: { refresh_token: cocart.extras.jwt_refresh }, headers: { 'User-Agent': UA } }),
    );
    keep(byQuery.data!.token, byQuery.data!.refresh_token);
    const byBody = await count(
      cocartRefreshToken({ client: t.client, body: { refresh_token: byQuery.data!.refresh_token }, headers: { 'User-Agent': UA } }),
    );
    keep(byBody.data!.token, byBody.data!.refresh_token);
    await count(cocartValidateToken({ client: t.client, headers: { ...bearer(byBody.data!.token), 'User-Agent': UA } }));
    await count(cocartLogout({ client: t.client, body: {} as never, headers: { ...bearer(viaBasic.data!.extras.jwt_token), 'User-Agent': UA } }));

    // Maho: every grant, a wrong secret, renewal, registration, a password change, logout.
    const customer = await mahoTokenFor(t.client, { email: 'emily.johnson@x.dummyjson.com', password: 'emilyspass' });
    requests++;
    keep(customer.token);
    const service = await mahoTokenFor(t.client, { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret' });
    requests++;
    keep('demo-client-secret', service.token);
    const apiUser = await mahoTokenFor(t.client, { grant_type: 'api_user', username: 'demo-api', api_key: 'demo-api-key' });
    requests++;
    keep('demo-api-key', apiUser.token);
    await count(mahoToken({ client: t.client, body: { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'wrong-secret-93bc' } }));
    keep('wrong-secret-93bc');
    const renewed = await count(mahoRefresh({ client: t.client, headers: bearer(customer.token) }));
    keep(renewed.data!.token);
    const registered = await count(
      mahoRegisterCustomer({
        client: t.client,
        body: { email: 'logged.customer@example.test', password: 'registration passphrase 81', firstName: 'Log', lastName: 'Test' },
      }),
    );
    expect(registered.response.status).toBe(201);
    keep('registration passphrase 81');
    const fresh = await mahoTokenFor(t.client, { email: 'logged.customer@example.test', password: 'registration passphrase 81' });
    requests++;
    keep(fresh.token);
    const changed = await count(
      mahoChangePassword({
        client: t.client,
        headers: bearer(fresh.token),
        body: { currentPassword: 'registration passphrase 81', newPassword: 'changed passphrase 62' },
      }),
    );
    expect(changed.response.status).toBe(200);
    keep('changed passphrase 62');
    await count(mahoGetMe({ client: t.client, headers: bearer(renewed.data!.token) }));
    await count(mahoLogout({ client: t.client, headers: bearer(renewed.data!.token) }));
    await settle();

    const log = lines.slice(before).join('\n');
    expect(lines.length - before).toBeGreaterThanOrEqual(requests); // the sink saw every request
    expect(secrets.length).toBeGreaterThan(30);
    for (const secret of secrets) expect(log, 'a secret reached the log').not.toContain(secret);
    // Nor the names of the places secrets travel in (`password` is in a path, /customers/me/password).
    for (const word of ['authorization', 'cookie', 'refresh_token', 'client_secret', 'api_key', 'passphrase']) {
      expect(log.toLowerCase()).not.toContain(word);
    }
  });
});

describe('the logger', () => {
  it('redacts secret-named fields wherever a log call puts them', async () => {
    const out: string[] = [];
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _enc, done) {
          out.push(chunk.toString());
          done();
        },
      }),
    );
    logger.info(
      {
        headers: { authorization: 'Bearer s3cr3t-a', cookie: 'refreshToken=s3cr3t-b' },
        body: { password: 's3cr3t-c', client_secret: 's3cr3t-d', api_key: 's3cr3t-e', refreshToken: 's3cr3t-f' },
        refresh_token: 's3cr3t-g',
        err: { config: { newPassword: 's3cr3t-h' } },
        'set-cookie': 's3cr3t-i',
        res: { headers: { 'set-cookie': 's3cr3t-j' } },
      },
      'careless',
    );
    const line = out.join('');
    expect(line).toContain('careless');
    expect(line).toContain('[redacted]');
    expect(line).not.toMatch(/s3cr3t/);
  });
});
