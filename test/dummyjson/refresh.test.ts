// POST /auth/refresh — rotation, replay detection, the concurrency grace window, lifetimes,
// cookies, and every error status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonMe, dummyjsonRefresh } from '../../generated/client/sdk.gen.js';
import { zDummyjsonError, zDummyjsonTokenPair } from '../../generated/client/zod.gen.js';
import { bearer, loginAs } from '../helpers/dummyjson.js';
import { FORM, formBody, setCookies, startTestServer, type TestServer } from '../helpers/gatehouse.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ REFRESH_REUSE_GRACE_S: '5' });
});
afterAll(() => t.close());

type RefreshOptions = { headers?: Record<string, string>; bodySerializer?: (b: unknown) => string };
const refresh = (body: unknown, init: RefreshOptions = {}) =>
  dummyjsonRefresh({ client: t.client, body: body as never, ...init });
const me = (token: string) => dummyjsonMe({ client: t.client, headers: bearer(token) });

async function expectInvalid(token: string) {
  const { error, response } = await refresh({ refreshToken: token });
  expect(response.status).toBe(403);
  expect(zDummyjsonError.parse(error)).toEqual({ message: 'Invalid refresh token' });
}

describe('POST /auth/refresh', () => {
  it('rotates: a new pair in the body and in cookies; the old refresh token is used up', async () => {
    const first = await loginAs(t.client, 'emilys');
    const { data, response } = await refresh({ refreshToken: first.refreshToken, expiresInMins: 30 });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const pair = zDummyjsonTokenPair.parse(data);
    expect(Object.keys(data!)).toEqual(['accessToken', 'refreshToken']);
    expect(pair.refreshToken).not.toBe(first.refreshToken);
    expect(pair.accessToken).not.toBe(first.accessToken);
    const cookies = setCookies(response);
    expect(cookies.get('accessToken')).toMatchObject({ value: pair.accessToken, attrs: { 'max-age': '1800', httponly: true } });
    expect(cookies.get('refreshToken')).toMatchObject({ value: pair.refreshToken, attrs: { httponly: true, path: '/' } });
    expect((await me(pair.accessToken)).data!.username).toBe('emilys');
    // The previous access token stays valid until its short expiry (OAuth 2 behaviour), so
    // another tab still holding it is not signed out.
    expect((await me(first.accessToken)).response.status).toBe(200);
  });

  it('works with only the cookie and no body at all', async () => {
    const first = await loginAs(t.client, 'michaelw');
    const { data, response } = await dummyjsonRefresh({
      client: t.client,
      headers: { Cookie: `refreshToken=${first.refreshToken}`, 'Content-Type': null as never },
    });
    expect(response.status).toBe(200);
    expect(data!.refreshToken).not.toBe(first.refreshToken);
  });

  it("works with only the cookie and an empty body of any Content-Type (a browser's fetch with body: '')", async () => {
    // fetch(url, { method: 'POST', body: '', credentials: 'include' }) sends
    // Content-Type: text/plain;charset=UTF-8 with Content-Length: 0: no body, not a wrong type.
    let { refreshToken } = await loginAs(t.client, 'michaelw');
    for (const [path, headers] of [
      ['/auth/refresh', {}],
      ['/auth/refresh', { 'Content-Type': 'application/octet-stream' }],
      ['/auth/refresh/', { 'Content-Type': 'text/plain' }],
    ] as const) {
      const response = await fetch(`${t.url}${path}`, { method: 'POST', body: '', headers: { Cookie: `refreshToken=${refreshToken}`, ...headers } });
      expect(response.status, path).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const pair = zDummyjsonTokenPair.parse(await response.json());
      expect(pair.refreshToken).not.toBe(refreshToken);
      expect(setCookies(response).get('refreshToken')!.value).toBe(pair.refreshToken);
      refreshToken = pair.refreshToken;
    }
  });

  it('accepts a form body', async () => {
    const first = await loginAs(t.client, 'sophiab');
    const { data, response } = await refresh(
      { refreshToken: first.refreshToken, expiresInMins: '5' },
      { headers: FORM, bodySerializer: formBody },
    );
    expect(response.status).toBe(200);
    expect(setCookies(response).get('accessToken')!.attrs['max-age']).toBe('300');
    expect(data!.accessToken).toBeTruthy();
  });

  it('treats a cookie that cookie-parser would decode as JSON (j:...) as no token, never a 500', async () => {
    for (const value of ['j:123', 'j:true']) {
      const { error, response } = await dummyjsonRefresh({ client: t.client, headers: { Cookie: `refreshToken=${value}` } });
      expect(response.status, value).toBe(401);
      expect(error).toEqual({ message: 'Refresh token required' });
    }
    // An object is refused by the contract (the cookie is a string) before the handler runs.
    const object = await dummyjsonRefresh({ client: t.client, headers: { Cookie: 'refreshToken=j:{}' } });
    expect(object.response.status).toBe(400);
    expect(zDummyjsonError.parse(object.error).message).toMatch(/^Invalid request: cookies\.refreshToken/);
  });

  it('prefers the body token over the cookie', async () => {
    const a = await loginAs(t.client, 'emilys');
    const { response } = await refresh({ refreshToken: a.refreshToken }, { headers: { Cookie: 'refreshToken=stale' } });
    expect(response.status).toBe(200);
  });

  it('gives a concurrent refresh within the grace window its own pair instead of revoking', async () => {
    const first = await loginAs(t.client, 'jamesd');
    const [a, b] = await Promise.all([refresh({ refreshToken: first.refreshToken }), refresh({ refreshToken: first.refreshToken })]);
    expect([a.response.status, b.response.status]).toEqual([200, 200]);
    expect(a.data!.refreshToken).not.toBe(b.data!.refreshToken);
    // Both branches keep working.
    expect((await refresh({ refreshToken: a.data!.refreshToken })).response.status).toBe(200);
    expect((await refresh({ refreshToken: b.data!.refreshToken })).response.status).toBe(200);
  });

  it('revokes the whole session when a used refresh token is replayed after the grace window', async () => {
    const first = await loginAs(t.client, 'emmaj');
    const second = (await refresh({ refreshToken: first.refreshToken })).data!;
    t.clock.advance(6);
    await expectInvalid(first.refreshToken); // the replay
    // Every token of the session is now dead: the attacker's and the victim's alike.
    await expectInvalid(second.refreshToken);
    expect((await me(second.accessToken)).response.status).toBe(401);
    expect((await me(first.accessToken)).response.status).toBe(401);
  });

  it('revokes on any replay when REFRESH_REUSE_GRACE_S=0', async () => {
    const strict = await startTestServer({ REFRESH_REUSE_GRACE_S: '0' });
    try {
      const first = await loginAs(strict.client, 'emilys');
      const again = () => dummyjsonRefresh({ client: strict.client, body: { refreshToken: first.refreshToken } });
      const ok = await again();
      expect(ok.response.status).toBe(200);
      strict.clock.advance(0.5);
      expect((await again()).response.status).toBe(403);
      const next = await dummyjsonRefresh({ client: strict.client, body: { refreshToken: ok.data!.refreshToken } });
      expect(next.response.status).toBe(403);
    } finally {
      await strict.close();
    }
  });

  it('answers 403 for an unknown token and for an access token', async () => {
    await expectInvalid('0Qm7yqkGk3rRZ4oYp9wq2C8uTfN1sVbXeJdLhA6iM5o');
    const { accessToken } = await loginAs(t.client, 'emilys');
    await expectInvalid(accessToken);
  });

  it('answers 403 once the refresh token has expired', async () => {
    const { refreshToken } = await loginAs(t.client, 'emilys');
    t.clock.advance(t.config.refreshTokenTtlS + 1);
    await expectInvalid(refreshToken);
  });

  it('never extends a session past its absolute lifetime', async () => {
    const short = await startTestServer({ SESSION_MAX_AGE_S: '600', REFRESH_TOKEN_TTL_S: '300' });
    try {
      let { refreshToken } = await loginAs(short.client, 'emilys');
      for (let i = 0; i < 3; i++) {
        short.clock.advance(180);
        const { data, response } = await dummyjsonRefresh({ client: short.client, body: { refreshToken } });
        expect(response.status).toBe(200);
        // The cookie never outlives the session.
        expect(Number(setCookies(response).get('refreshToken')!.attrs['max-age'])).toBeLessThanOrEqual(600 - 180 * (i + 1));
        refreshToken = data!.refreshToken;
      }
      short.clock.advance(61); // 601 s after login
      const { error, response } = await dummyjsonRefresh({ client: short.client, body: { refreshToken } });
      expect(response.status).toBe(403);
      expect(error).toEqual({ message: 'Invalid refresh token' });
    } finally {
      await short.close();
    }
  });

  it.each([
    ['no body and no cookie', undefined],
    ['an empty refreshToken', { refreshToken: '' }],
    ['an empty object', {}],
  ])('answers 401 "Refresh token required" for %s', async (_name, body) => {
    const { error, response } = await refresh(body);
    expect(response.status).toBe(401);
    expect(error).toEqual({ message: 'Refresh token required' });
  });

  it('answers 400 for a bad expiresInMins before looking at the token', async () => {
    const { refreshToken } = await loginAs(t.client, 'emilys');
    const { error, response } = await refresh({ refreshToken, expiresInMins: 0 });
    expect(response.status).toBe(400);
    expect(error).toEqual({ message: 'expiresInMins must be a number from 1 to 43200' });
    // The token was not used up by the failed request.
    expect((await refresh({ refreshToken })).response.status).toBe(200);
  });

  it('answers 400 for malformed JSON, 413 for a huge body, 415 for another content type', async () => {
    const bad = await refresh({}, { bodySerializer: () => '{"refreshToken":' });
    expect(bad.response.status).toBe(400);
    expect(bad.error).toEqual({ message: 'Request body is not valid JSON' });
    const huge = await refresh({ refreshToken: 'x'.repeat(200_000) });
    expect(huge.response.status).toBe(413);
    expect(huge.error).toEqual({ message: 'Request body is too large' });
    const text = await refresh({}, { headers: { 'Content-Type': 'text/plain' }, bodySerializer: () => 'token' });
    expect(text.response.status).toBe(415);
    expect(zDummyjsonError.parse(text.error).message).toMatch(/^Unsupported Content-Type/);
  });

  it('answers 400 in {message} for a refresh token over the length limit', async () => {
    const { error, response } = await refresh({ refreshToken: 'x'.repeat(5000) });
    expect(response.status).toBe(400);
    expect(zDummyjsonError.parse(error).message).toMatch(/^Invalid request: body\.refreshToken/);
  });
});

describe('POST /auth/refresh rate limits', () => {
  it('limits refreshes per client IP, with Retry-After', async () => {
    const limited = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_REFRESH_IP: '2/60' });
    try {
      const send = () => dummyjsonRefresh({ client: limited.client, body: { refreshToken: 'unknown-token' } });
      expect((await send()).response.status).toBe(403);
      expect((await send()).response.status).toBe(403);
      const { error, response } = await send();
      expect(response.status).toBe(429);
      expect(error).toEqual({ message: 'Too many requests, try again later' });
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });

  it('still revokes on a replay when the account is at its refresh limit', async () => {
    const limited = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_REFRESH_ACCOUNT: '1/60', REFRESH_REUSE_GRACE_S: '0' });
    try {
      const first = await loginAs(limited.client, 'emilys');
      const second = await dummyjsonRefresh({ client: limited.client, body: { refreshToken: first.refreshToken } });
      expect(second.response.status).toBe(200);
      limited.clock.advance(1);
      const replay = await dummyjsonRefresh({ client: limited.client, body: { refreshToken: first.refreshToken } });
      expect(replay.response.status).toBe(403);
      const me = await dummyjsonMe({ client: limited.client, headers: bearer(second.data!.accessToken) });
      expect(me.response.status).toBe(401);
    } finally {
      await limited.close();
    }
  });

  it('still revokes on a replay when the address is at its refresh limit; other refreshes from it are refused', async () => {
    const limited = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_REFRESH_IP: '3/60', REFRESH_REUSE_GRACE_S: '0' });
    try {
      const victim = await loginAs(limited.client, 'emilys');
      const other = await loginAs(limited.client, 'michaelw');
      const second = await dummyjsonRefresh({ client: limited.client, body: { refreshToken: victim.refreshToken } });
      expect(second.response.status).toBe(200);
      for (let i = 0; i < 2; i++) {
        expect((await dummyjsonRefresh({ client: limited.client, body: { refreshToken: `bogus-${i}` } })).response.status).toBe(403);
      }
      // The address is over its limit now: a live token is refused and stays unused...
      const refused = await dummyjsonRefresh({ client: limited.client, body: { refreshToken: other.refreshToken } });
      expect(refused.response.status).toBe(429);
      expect(refused.error).toEqual({ message: 'Too many requests, try again later' });
      // ...but the stolen, already used token still gives the thief away.
      limited.clock.advance(1);
      const replay = await dummyjsonRefresh({ client: limited.client, body: { refreshToken: victim.refreshToken } });
      expect(replay.response.status).toBe(403);
      expect(replay.error).toEqual({ message: 'Invalid refresh token' });
      expect((await dummyjsonMe({ client: limited.client, headers: bearer(second.data!.accessToken) })).response.status).toBe(401);
      expect((await dummyjsonMe({ client: limited.client, headers: bearer(other.accessToken) })).response.status).toBe(200);
      const [revoked] = (await limited.gatehouse.services.sessions.listForUser(1)).filter((s) => s.revokedReason === 'refresh_token_reuse');
      expect(revoked).toBeDefined();
    } finally {
      await limited.close();
    }
  });

  it('limits refreshes per account', async () => {
    const limited = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_REFRESH_ACCOUNT: '2/60' });
    try {
      let { refreshToken } = await loginAs(limited.client, 'emilys');
      for (let i = 0; i < 2; i++) {
        const { data } = await dummyjsonRefresh({ client: limited.client, body: { refreshToken } });
        refreshToken = data!.refreshToken;
      }
      const { error, response } = await dummyjsonRefresh({ client: limited.client, body: { refreshToken } });
      expect(response.status).toBe(429);
      expect(error).toEqual({ message: 'Too many requests, try again later' });
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Refused before rotating: the token still works once the window has passed.
    } finally {
      await limited.close();
    }
  });
});
