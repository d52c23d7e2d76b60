// GET /auth/me — token from header or cookie, every 401, and what is never in the profile.
import { SignJWT, decodeJwt, generateKeyPair, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cocartValidateToken, dummyjsonLogout, dummyjsonMe } from '../../generated/client/sdk.gen.js';
import { zDummyjsonError, zDummyjsonUser } from '../../generated/client/zod.gen.js';
import { bearer, EMILYS, loginAs } from '../helpers/dummyjson.js';
import { setCookies, startTestServer, type TestServer } from '../helpers/gatehouse.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const me = (headers: Record<string, string>) => dummyjsonMe({ client: t.client, headers });

async function expect401(headers: Record<string, string>, message: string) {
  const { error, response } = await me(headers);
  expect(response.status).toBe(401);
  expect(zDummyjsonError.parse(error)).toEqual({ message });
  // A 401 clears the access cookie; the refresh cookie only for an invalid token (the original
  // clears both every time), so that a client whose access cookie expired can still refresh.
  const cleared = setCookies(response);
  const expected = message === 'Invalid/Expired Token!' ? ['accessToken', 'refreshToken'] : ['accessToken'];
  expect([...cleared.keys()].sort()).toEqual(expected.sort());
  for (const name of expected) {
    expect(cleared.get(name)?.value).toBe('');
    expect(new Date(String(cleared.get(name)?.attrs.expires)).getTime()).toBe(0);
  }
}

/** Re-encodes a token's payload without re-signing it. */
function withPayload(token: string, change: (p: JWTPayload) => JWTPayload): string {
  const [h, , s] = token.split('.');
  const payload = Buffer.from(JSON.stringify(change(decodeJwt(token)))).toString('base64url');
  return `${h}.${payload}.${s}`;
}

describe('GET /auth/me', () => {
  it('answers the profile for a bearer token, with no password or hash in it', async () => {
    const { accessToken } = await loginAs(t.client, 'emilys');
    const { data, response } = await me(bearer(accessToken));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(zDummyjsonUser.parse(data)).toEqual({
      ...EMILYS,
      phone: '+81 965-431-3024',
      birthDate: '1996-05-30',
      role: 'admin',
    });
    const text = JSON.stringify(data).toLowerCase();
    expect(text).not.toContain('password');
    expect(text).not.toContain('argon2');
  });

  it('ignores unknown query parameters, as the original does (cache-busters)', async () => {
    const { accessToken } = await loginAs(t.client, 'emilys');
    const response = await fetch(`${t.url}/auth/me?_=1700000000&debug=1`, { headers: bearer(accessToken) });
    expect(response.status).toBe(200);
  });

  it('accepts the scheme in any case', async () => {
    const { accessToken } = await loginAs(t.client, 'michaelw');
    const { data, response } = await me({ Authorization: `bEaReR ${accessToken}` });
    expect(response.status).toBe(200);
    expect(data!.username).toBe('michaelw');
  });

  it('works with only the accessToken cookie', async () => {
    const { accessToken } = await loginAs(t.client, 'sophiab');
    const { data, response } = await me({ Cookie: `accessToken=${accessToken}` });
    expect(response.status).toBe(200);
    expect(data!.username).toBe('sophiab');
  });

  it('lets the Authorization header win over the cookie', async () => {
    const emily = await loginAs(t.client, 'emilys');
    const james = await loginAs(t.client, 'jamesd');
    const { data } = await me({ ...bearer(james.accessToken), Cookie: `accessToken=${emily.accessToken}` });
    expect(data!.username).toBe('jamesd');
    await expect401({ ...bearer('garbage'), Cookie: `accessToken=${emily.accessToken}` }, 'Invalid/Expired Token!');
  });

  it('answers 401 "Access Token is required" with no token', async () => {
    await expect401({}, 'Access Token is required');
  });

  it('answers 401 "Access Token is required" for a non-Bearer Authorization header and no cookie', async () => {
    await expect401({ Authorization: 'Basic ZW1pbHlzOmVtaWx5c3Bhc3M=' }, 'Access Token is required');
  });

  it.each([
    ['garbage', 'not-a-jwt'],
    ['a three-part non-JWT', 'a.b.c'],
    ['a 12 KB token (over the 8 KB cap)', `${'a'.repeat(6_000)}.${'b'.repeat(6_000)}.c`],
  ])('answers 401 "Invalid/Expired Token!" for %s', async (_name, token) => {
    await expect401(bearer(token), 'Invalid/Expired Token!');
  });

  it('answers 401 for a 100 KB token (headers up to 128 KiB reach the dialect)', async () => {
    await expect401(bearer('a'.repeat(100_000)), 'Invalid/Expired Token!');
  });

  it('answers 431 with a JSON body for headers over 128 KiB (refused before any parsing), never a 5xx', async () => {
    const response = await fetch(`${t.url}/auth/me`, { headers: bearer('a'.repeat(200_000)) });
    expect(response.status).toBe(431);
    expect(response.headers.get('connection')).toBe('close');
    expect(await response.json()).toEqual({ message: 'Request Header Fields Too Large' });
  });

  it('answers 401 for a token whose claims were changed without re-signing', async () => {
    const { accessToken } = await loginAs(t.client, 'emilys');
    await expect401(bearer(withPayload(accessToken, (p) => ({ ...p, sub: '2', id: 2 }))), 'Invalid/Expired Token!');
  });

  it('answers 401 for alg "none" and for a token signed by a key Gatehouse does not hold', async () => {
    const { accessToken } = await loginAs(t.client, 'emilys');
    const claims = decodeJwt(accessToken);
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;
    await expect401(bearer(none), 'Invalid/Expired Token!');
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(claims).setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'forged' }).sign(privateKey);
    await expect401(bearer(forged), 'Invalid/Expired Token!');
  });

  it('answers 401 for a refresh token presented as an access token', async () => {
    const { refreshToken } = await loginAs(t.client, 'emilys');
    await expect401(bearer(refreshToken), 'Invalid/Expired Token!');
  });

  it('answers 401 "Token Expired!" once exp has passed (beyond the leeway)', async () => {
    const { accessToken } = await loginAs(t.client, 'emmaj', { expiresInMins: 1 });
    t.clock.advance(60 + t.config.clockToleranceS - 5);
    expect((await me(bearer(accessToken))).response.status).toBe(200); // within the leeway
    t.clock.advance(10);
    await expect401(bearer(accessToken), 'Token Expired!');
  });

  it('keeps the refresh cookie when the access cookie is gone, so a cookie-only client can refresh', async () => {
    // A browser drops the access cookie when its Max-Age (the token's lifetime) runs out and
    // sends only the refresh cookie: /auth/me says 401, the client refreshes with the cookie.
    const { refreshToken } = await loginAs(t.client, 'sophiab');
    const { response } = await me({ Cookie: `refreshToken=${refreshToken}` });
    expect(response.status).toBe(401);
    expect(setCookies(response).has('refreshToken')).toBe(false);
    const refreshed = await fetch(`${t.url}/auth/refresh`, { method: 'POST', headers: { Cookie: `refreshToken=${refreshToken}` } });
    expect(refreshed.status).toBe(200);
    expect(setCookies(refreshed).get('accessToken')?.value).toMatch(/^ey/);
  });

  it('refuses a DummyJSON token at CoCart even right after DummyJSON verified it', async () => {
    const { accessToken } = await loginAs(t.client, 'michaelw');
    expect((await me(bearer(accessToken))).response.status).toBe(200);
    const cocart = await cocartValidateToken({ client: t.client, headers: bearer(accessToken) });
    expect(cocart.response.status).toBe(401);
    expect(cocart.error).toEqual({ code: 'cocart_authentication_error', message: 'Authentication failed.', data: { status: 401 } });
  });

  it('answers 401 at once after logout (revocation is checked on every request)', async () => {
    const { accessToken } = await loginAs(t.client, 'emilys');
    expect((await me(bearer(accessToken))).response.status).toBe(200);
    expect((await dummyjsonLogout({ client: t.client, headers: bearer(accessToken) })).response.status).toBe(200);
    await expect401(bearer(accessToken), 'Invalid/Expired Token!');
  });
});
