// validate-token, refresh-token and logout: User-Agent and IP binding, rotation that kills
// the old pair at once, replay, lifetimes, and every error status in CoCart's format.
import { request } from 'node:http';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cocartLogout,
  cocartRefreshToken,
  cocartValidateToken,
  dummyjsonMe,
} from '../../generated/client/sdk.gen.js';
import { zCocartError, zCocartMessage, zCocartTokenPair } from '../../generated/client/zod.gen.js';
import { cocartError, cocartLoginAs, UA } from '../helpers/cocart.js';
import { bearer, loginAs } from '../helpers/dummyjson.js';
import { FORM, formBody, startTestServer, type TestServer } from '../helpers/gatehouse.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const AUTH_FAILED = cocartError(401, 'cocart_authentication_error', 'Authentication failed.');
const INVALID_REFRESH = cocartError(403, 'cocart_authentication_error', 'Invalid refresh token.');

const validate = (token: string, headers: Record<string, string> = { 'User-Agent': UA }) =>
  cocartValidateToken({ client: t.client, headers: { ...bearer(token), ...headers } });

async function expectRefused(token: string, headers?: Record<string, string>) {
  const { error, response } = await validate(token, headers);
  expect(response.status).toBe(401);
  expect(zCocartError.parse(error)).toEqual(AUTH_FAILED);
  expect(response.headers.get('www-authenticate')).toBe('Bearer realm="cocart"');
}

type Init = { headers?: Record<string, string>; bodySerializer?: (b: unknown) => string };
const refresh = (body: unknown, init: Init = {}) =>
  cocartRefreshToken({ client: t.client, body: body as never, ...init, headers: { 'User-Agent': UA, ...init.headers } });

/** A raw request with no User-Agent header at all (fetch always sends one). */
function validateWithoutUserAgent(token: string): Promise<{ status: number; body: unknown }> {
  const url = new URL('/wp-json/cocart/jwt/validate-token', t.url);
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('POST /wp-json/cocart/jwt/validate-token', () => {
  it('answers "Token is valid." with the login User-Agent', async () => {
    const login = await cocartLoginAs(t.client);
    const { data, response } = await validate(login.extras.jwt_token);
    expect(response.status).toBe(200);
    expect(zCocartMessage.parse(data)).toEqual({ message: 'Token is valid.' });
  });

  it('keeps the first 1,024 characters of a longer User-Agent: the token stays usable', async () => {
    const long = `Mozilla/5.0 ${'x'.repeat(6_000)}`;
    const { extras } = await cocartLoginAs(t.client, 'emilys', { 'User-Agent': long });
    expect(decodeJwt(extras.jwt_token)).toMatchObject({ data: { user: { device: long.slice(0, 1_024) } } });
    expect((await validate(extras.jwt_token, { 'User-Agent': long })).response.status).toBe(200);
    const refreshed = await refresh({ refresh_token: extras.jwt_refresh }, { headers: { 'User-Agent': long } });
    expect(refreshed.response.status).toBe(200);
    await expectRefused(extras.jwt_token, { 'User-Agent': UA });
  });

  it('refuses another User-Agent, an empty one and none at all', async () => {
    const { extras } = await cocartLoginAs(t.client);
    await expectRefused(extras.jwt_token, { 'User-Agent': 'SomethingElse/2.0' });
    await expectRefused(extras.jwt_token, { 'User-Agent': '' });
    const raw = await validateWithoutUserAgent(extras.jwt_token);
    expect(raw).toEqual({ status: 401, body: AUTH_FAILED });
  });

  it('refuses every invalid token with the same 401', async () => {
    const { extras } = await cocartLoginAs(t.client);
    await expectRefused('');
    await expectRefused('not-a-jwt');
    const [h, p, sig] = extras.jwt_token.split('.');
    // The signature with its first byte flipped (never a no-op, unlike overwriting characters).
    const flipped = Buffer.from(sig!, 'base64url');
    flipped[0] = flipped[0]! ^ 0x01;
    await expectRefused(`${h}.${p}.${flipped.toString('base64url')}`);
    await expectRefused(extras.jwt_refresh); // a refresh token is not an access token
    const dummy = await loginAs(t.client, 'emilys');
    await expectRefused(dummy.accessToken); // another dialect's token
  });

  it('answers 401 with no Authorization header', async () => {
    const { error, response } = await cocartValidateToken({ client: t.client });
    expect(response.status).toBe(401);
    expect(error).toEqual(AUTH_FAILED);
  });

  it('enforces nbf: a token is refused before it becomes valid (beyond the leeway)', async () => {
    const { extras } = await cocartLoginAs(t.client, 'sophiab');
    expect((await validate(extras.jwt_token)).response.status).toBe(200);
    t.clock.advance(-(t.config.clockToleranceS + 60)); // the server's clock now reads before nbf
    await expectRefused(extras.jwt_token);
    t.clock.advance(t.config.clockToleranceS + 60);
    expect((await validate(extras.jwt_token)).response.status).toBe(200);
  });

  it('refuses an expired token (10 days by default)', async () => {
    const { extras } = await cocartLoginAs(t.client, 'emmaj');
    t.clock.advance(864_000 - 60);
    expect((await validate(extras.jwt_token)).response.status).toBe(200);
    t.clock.advance(60 + t.config.clockToleranceS + 1);
    await expectRefused(extras.jwt_token);
  });

  it('is refused by the DummyJSON routes, even right after CoCart verified it', async () => {
    const { extras } = await cocartLoginAs(t.client);
    expect((await validate(extras.jwt_token)).response.status).toBe(200);
    const me = await dummyjsonMe({ client: t.client, headers: bearer(extras.jwt_token) });
    expect(me.response.status).toBe(401);
    expect(me.error).toEqual({ message: 'Invalid/Expired Token!' });
  });
});

describe('IP binding', () => {
  it('is off by default: another address is accepted', async () => {
    const proxied = await startTestServer({ TRUST_PROXY: 'true' });
    try {
      const { extras } = await cocartLoginAs(proxied.client, 'emilys', { 'X-Forwarded-For': '10.0.0.1' });
      const { response } = await cocartValidateToken({
        client: proxied.client,
        headers: { ...bearer(extras.jwt_token), 'User-Agent': UA, 'X-Forwarded-For': '10.0.0.2' },
      });
      expect(response.status).toBe(200);
    } finally {
      await proxied.close();
    }
  });

  it('with COCART_BIND_IP=true refuses a token used from another address', async () => {
    const bound = await startTestServer({ TRUST_PROXY: 'true', COCART_BIND_IP: 'true' });
    try {
      const { extras } = await cocartLoginAs(bound.client, 'emilys', { 'X-Forwarded-For': '10.0.0.1' });
      const from = (ip: string) =>
        cocartValidateToken({
          client: bound.client,
          headers: { ...bearer(extras.jwt_token), 'User-Agent': UA, 'X-Forwarded-For': ip },
        });
      expect((await from('10.0.0.1')).response.status).toBe(200);
      const other = await from('10.0.0.2');
      expect(other.response.status).toBe(401);
      expect(other.error).toEqual(AUTH_FAILED);
    } finally {
      await bound.close();
    }
  });

  it('with COCART_BIND_IP=true refuses a used refresh token from another address without revoking the session', async () => {
    // Used tokens end up in access logs (CoCart takes them in the query string): whoever reads
    // those from elsewhere must not be able to end a session it could never use.
    const bound = await startTestServer({ TRUST_PROXY: 'true', COCART_BIND_IP: 'true' });
    try {
      const at = (ip: string) => ({ 'User-Agent': UA, 'X-Forwarded-For': ip });
      const { extras } = await cocartLoginAs(bound.client, 'emilys', { 'X-Forwarded-For': '10.0.0.1' });
      const next = await cocartRefreshToken({ client: bound.client, query: { refresh_token: extras.jwt_refresh }, headers: at('10.0.0.1') });
      expect(next.response.status).toBe(200);
      const elsewhere = await cocartRefreshToken({ client: bound.client, query: { refresh_token: extras.jwt_refresh }, headers: at('10.0.0.2') });
      expect(elsewhere.response.status).toBe(403);
      expect(elsewhere.error).toEqual(INVALID_REFRESH);
      const owner = await cocartRefreshToken({ client: bound.client, body: { refresh_token: next.data!.refresh_token }, headers: at('10.0.0.1') });
      expect(owner.response.status).toBe(200);
    } finally {
      await bound.close();
    }
  });
});

describe('POST /wp-json/cocart/jwt/refresh-token', () => {
  it('rotates: the new pair works, the old access and refresh tokens die at once', async () => {
    const login = await cocartLoginAs(t.client);
    const { data, response } = await refresh({ refresh_token: login.extras.jwt_refresh });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const pair = zCocartTokenPair.parse(data);
    expect(pair.refresh_token).toMatch(/^[0-9a-f]{128}$/);
    expect((await validate(pair.token)).response.status).toBe(200);
    await expectRefused(login.extras.jwt_token);
    const again = await refresh({ refresh_token: login.extras.jwt_refresh });
    expect(again.response.status).toBe(403);
    expect(again.error).toEqual(INVALID_REFRESH);
  });

  it('treats a replay as theft: the whole session is revoked', async () => {
    const login = await cocartLoginAs(t.client, 'michaelw');
    const next = (await refresh({ refresh_token: login.extras.jwt_refresh })).data!;
    expect((await refresh({ refresh_token: login.extras.jwt_refresh })).response.status).toBe(403);
    await expectRefused(next.token);
    expect((await refresh({ refresh_token: next.refresh_token })).error).toEqual(INVALID_REFRESH);
  });

  it('takes refresh_token from a form body and from the query string', async () => {
    const a = await cocartLoginAs(t.client);
    const form = await refresh({ refresh_token: a.extras.jwt_refresh }, { headers: FORM, bodySerializer: formBody });
    expect(form.response.status).toBe(200);
    const query = await cocartRefreshToken({
      client: t.client,
      query: { refresh_token: form.data!.refresh_token },
      headers: { 'User-Agent': UA },
    });
    expect(query.response.status).toBe(200);
  });

  it("takes refresh_token from the query with an empty body of any Content-Type (a browser's fetch with body: '')", async () => {
    const { extras } = await cocartLoginAs(t.client, 'emmaj');
    const response = await fetch(`${t.url}/wp-json/cocart/jwt/refresh-token?refresh_token=${extras.jwt_refresh}`, {
      method: 'POST',
      body: '',
      headers: { 'User-Agent': UA, 'Content-Type': 'application/octet-stream' },
    });
    expect(response.status).toBe(200);
    const pair = zCocartTokenPair.parse(await response.json());
    expect((await validate(pair.token)).response.status).toBe(200);
  });

  it('is not blocked by a stale Bearer header sent along', async () => {
    const login = await cocartLoginAs(t.client);
    const { response } = await refresh(
      { refresh_token: login.extras.jwt_refresh },
      { headers: { Authorization: 'Bearer expired.or.garbage' } },
    );
    expect(response.status).toBe(200);
  });

  it('refuses a refresh from another User-Agent without using the token up', async () => {
    const login = await cocartLoginAs(t.client);
    const other = await refresh({ refresh_token: login.extras.jwt_refresh }, { headers: { 'User-Agent': 'Thief/1.0' } });
    expect(other.response.status).toBe(403);
    expect(other.error).toEqual(INVALID_REFRESH);
    expect((await refresh({ refresh_token: login.extras.jwt_refresh })).response.status).toBe(200);
  });

  it('takes a used refresh token from another User-Agent for the replay it is: the session is revoked', async () => {
    const login = await cocartLoginAs(t.client);
    const next = await refresh({ refresh_token: login.extras.jwt_refresh });
    expect(next.response.status).toBe(200);
    // The thief has the used token, not the owner's User-Agent.
    const replay = await refresh({ refresh_token: login.extras.jwt_refresh }, { headers: { 'User-Agent': 'Thief/1.0' } });
    expect(replay.response.status).toBe(403);
    expect(replay.error).toEqual(INVALID_REFRESH);
    // The owner's current pair died with the session.
    expect((await refresh({ refresh_token: next.data!.refresh_token })).error).toEqual(INVALID_REFRESH);
    await expectRefused(next.data!.token);
  });

  it('refuses a DummyJSON refresh token', async () => {
    const dummy = await loginAs(t.client, 'emilys');
    expect((await refresh({ refresh_token: dummy.refreshToken })).error).toEqual(INVALID_REFRESH);
  });

  it('answers "Refresh token expired." past the token lifetime and past the session lifetime', async () => {
    const login = await cocartLoginAs(t.client);
    t.clock.advance(t.config.refreshTokenTtlS + 1);
    const { error, response } = await refresh({ refresh_token: login.extras.jwt_refresh });
    expect(response.status).toBe(403);
    expect(error).toEqual(cocartError(403, 'cocart_authentication_error', 'Refresh token expired.'));

    const short = await startTestServer({ SESSION_MAX_AGE_S: '300', REFRESH_TOKEN_TTL_S: '200' });
    try {
      let token = (await cocartLoginAs(short.client)).extras.jwt_refresh;
      short.clock.advance(150);
      token = (await cocartRefreshToken({ client: short.client, body: { refresh_token: token }, headers: { 'User-Agent': UA } })).data!.refresh_token;
      short.clock.advance(151);
      const late = await cocartRefreshToken({ client: short.client, body: { refresh_token: token }, headers: { 'User-Agent': UA } });
      expect(late.response.status).toBe(403);
      expect(late.error).toEqual(cocartError(403, 'cocart_authentication_error', 'Refresh token expired.'));
    } finally {
      await short.close();
    }
  });

  it('answers 403 cocart_jwt_auth_missing_refresh_token with no token', async () => {
    for (const body of [undefined, {}, { refresh_token: '' }]) {
      const { error, response } = await refresh(body);
      expect(response.status).toBe(403);
      expect(error).toEqual(cocartError(403, 'cocart_jwt_auth_missing_refresh_token', 'Refresh token is required.'));
    }
    const emptyQuery = await fetch(`${t.url}/wp-json/cocart/jwt/refresh-token?refresh_token=`, { method: 'POST' });
    expect(emptyQuery.status).toBe(403);
    expect(await emptyQuery.json()).toEqual(cocartError(403, 'cocart_jwt_auth_missing_refresh_token', 'Refresh token is required.'));
  });

  it('answers 400, 413 and 415 in the CoCart format', async () => {
    const long = await refresh({ refresh_token: 'a'.repeat(300) });
    expect(long.response.status).toBe(400);
    expect(long.error).toEqual(cocartError(400, 'rest_invalid_param', 'Invalid parameter(s): refresh_token'));
    const json = await refresh({}, { bodySerializer: () => '{' });
    expect(json.error).toEqual(cocartError(400, 'rest_invalid_json', 'Invalid JSON body passed.'));
    const huge = await refresh({ refresh_token: 'a'.repeat(100_000) });
    expect(huge.response.status).toBe(413);
    expect(zCocartError.parse(huge.error).code).toBe('rest_payload_too_large');
    const text = await refresh({}, { headers: { 'Content-Type': 'text/plain' }, bodySerializer: () => 'x' });
    expect(text.response.status).toBe(415);
    expect(zCocartError.parse(text.error).code).toBe('rest_unsupported_media_type');
  });

  it('answers 429 with Retry-After when refreshing too often from one IP', async () => {
    const limited = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_REFRESH_IP: '1/60' });
    try {
      const send = () => cocartRefreshToken({ client: limited.client, body: { refresh_token: 'f'.repeat(128) } });
      expect((await send()).response.status).toBe(403);
      const { error, response } = await send();
      expect(response.status).toBe(429);
      expect(error).toEqual(cocartError(429, 'cocart_rate_limit_reached', 'Too many requests. Please wait and try again.'));
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});

describe('POST /wp-json/cocart/v2/logout', () => {
  const logout = (token: string, body?: unknown, init: Init = {}) =>
    cocartLogout({
      client: t.client,
      body: body as never,
      ...init,
      headers: { ...bearer(token), 'User-Agent': UA, ...init.headers },
    });

  it('revokes this session only', async () => {
    const a = await cocartLoginAs(t.client, 'sophiab');
    const b = await cocartLoginAs(t.client, 'sophiab');
    const { data, response } = await logout(a.extras.jwt_token);
    expect(response.status).toBe(200);
    expect(zCocartMessage.parse(data)).toEqual({ message: 'You are now logged out.' });
    await expectRefused(a.extras.jwt_token);
    expect((await refresh({ refresh_token: a.extras.jwt_refresh })).error).toEqual(INVALID_REFRESH);
    expect((await validate(b.extras.jwt_token)).response.status).toBe(200);
  });

  it("logs out with an empty body of any Content-Type (a browser's fetch with body: '')", async () => {
    const a = await cocartLoginAs(t.client, 'sophiab');
    const response = await fetch(`${t.url}/wp-json/cocart/v2/logout`, { method: 'POST', body: '', headers: { ...bearer(a.extras.jwt_token), 'User-Agent': UA } });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(zCocartMessage.parse(await response.json())).toEqual({ message: 'You are now logged out.' });
    await expectRefused(a.extras.jwt_token);
  });

  it('revokes every CoCart session of the user with all_sessions (JSON or form), and only those', async () => {
    const a = await cocartLoginAs(t.client, 'jamesd');
    const b = await cocartLoginAs(t.client, 'jamesd');
    const dummy = await loginAs(t.client, 'jamesd');
    expect((await logout(a.extras.jwt_token, { all_sessions: true })).response.status).toBe(200);
    await expectRefused(b.extras.jwt_token);
    // A session of another dialect (another app) is not CoCart's to end.
    expect((await dummyjsonMe({ client: t.client, headers: bearer(dummy.accessToken) })).response.status).toBe(200);

    const c = await cocartLoginAs(t.client, 'jamesd');
    const d = await cocartLoginAs(t.client, 'jamesd');
    const form = await logout(c.extras.jwt_token, { all_sessions: 'true' }, { headers: FORM, bodySerializer: formBody });
    expect(form.response.status).toBe(200);
    await expectRefused(d.extras.jwt_token);
  });

  it('answers 401 for a missing, invalid or already revoked token', async () => {
    const none = await cocartLogout({ client: t.client });
    expect(none.response.status).toBe(401);
    expect(none.error).toEqual(AUTH_FAILED);
    const a = await cocartLoginAs(t.client, 'emmaj');
    expect((await logout(a.extras.jwt_token)).response.status).toBe(200);
    const again = await logout(a.extras.jwt_token);
    expect(again.response.status).toBe(401);
    expect(again.error).toEqual(AUTH_FAILED);
    expect(again.response.headers.get('www-authenticate')).toBe('Bearer realm="cocart"');
  });

  it('answers 400, 413 and 415 in the CoCart format', async () => {
    const a = await cocartLoginAs(t.client, 'emilys');
    const bad = await logout(a.extras.jwt_token, { all_sessions: 'yes please' });
    expect(bad.response.status).toBe(400);
    expect(bad.error).toEqual(cocartError(400, 'rest_invalid_param', 'Invalid parameter(s): all_sessions'));
    const huge = await logout(a.extras.jwt_token, { all_sessions: true, pad: 'x'.repeat(100_000) });
    expect(huge.response.status).toBe(413);
    expect(zCocartError.parse(huge.error).code).toBe('rest_payload_too_large');
    const text = await logout(a.extras.jwt_token, {}, { headers: { 'Content-Type': 'text/plain' }, bodySerializer: () => 'x' });
    expect(text.response.status).toBe(415);
    // None of these logged the session out.
    expect((await validate(a.extras.jwt_token)).response.status).toBe(200);
  });
});
