// POST /auth/logout — revokes the session at once and clears the cookies.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonLogout, dummyjsonMe, dummyjsonRefresh } from '../../generated/client/sdk.gen.js';
import { zDummyjsonError, zDummyjsonLogoutResponse } from '../../generated/client/zod.gen.js';
import { bearer, loginAs } from '../helpers/dummyjson.js';
import { setCookies, startTestServer, type TestServer } from '../helpers/gatehouse.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const logout = (headers: Record<string, string>) => dummyjsonLogout({ client: t.client, headers });

/** Every 401 of a logout clears both cookies: the user asked to be signed out of this browser. */
function expectBothCleared(response: Response) {
  const cookies = setCookies(response);
  for (const name of ['accessToken', 'refreshToken']) {
    expect(cookies.get(name)?.value, name).toBe('');
    expect(new Date(String(cookies.get(name)?.attrs.expires)).getTime(), name).toBe(0);
  }
}

describe('POST /auth/logout', () => {
  it('revokes the session: its access and refresh tokens stop working at once', async () => {
    const session = await loginAs(t.client, 'emilys');
    const other = await loginAs(t.client, 'emilys'); // another device of the same user
    const { data, response } = await logout(bearer(session.accessToken));
    expect(response.status).toBe(200);
    expect(zDummyjsonLogoutResponse.parse(data)).toEqual({ message: 'Logged out successfully' });
    expect(response.headers.get('cache-control')).toBe('no-store');
    const cookies = setCookies(response);
    expect(cookies.get('accessToken')!.value).toBe('');
    expect(cookies.get('refreshToken')!.value).toBe('');
    expect(new Date(String(cookies.get('refreshToken')!.attrs.expires)).getTime()).toBe(0);

    expect((await dummyjsonMe({ client: t.client, headers: bearer(session.accessToken) })).response.status).toBe(401);
    const refreshed = await dummyjsonRefresh({ client: t.client, body: { refreshToken: session.refreshToken } });
    expect(refreshed.response.status).toBe(403);
    // Only that session: the other device is still signed in.
    expect((await dummyjsonMe({ client: t.client, headers: bearer(other.accessToken) })).response.status).toBe(200);
  });

  it('works with only the cookie', async () => {
    const session = await loginAs(t.client, 'michaelw');
    const { response } = await logout({ Cookie: `accessToken=${session.accessToken}` });
    expect(response.status).toBe(200);
    expect((await dummyjsonMe({ client: t.client, headers: bearer(session.accessToken) })).response.status).toBe(401);
  });

  it('answers 401 "Access Token is required" with no token, and still clears both cookies', async () => {
    // The browser's access cookie expired with its token; only the refresh cookie is sent.
    const session = await loginAs(t.client, 'emmaj');
    const { error, response } = await logout({ Cookie: `refreshToken=${session.refreshToken}` });
    expect(response.status).toBe(401);
    expect(zDummyjsonError.parse(error)).toEqual({ message: 'Access Token is required' });
    expectBothCleared(response);
  });

  it('answers 401 "Invalid/Expired Token!" for a bad token and for a second logout', async () => {
    const bad = await logout(bearer('not.a.token'));
    expect(bad.response.status).toBe(401);
    expect(bad.error).toEqual({ message: 'Invalid/Expired Token!' });
    expectBothCleared(bad.response);
    const session = await loginAs(t.client, 'sophiab');
    expect((await logout(bearer(session.accessToken))).response.status).toBe(200);
    const again = await logout(bearer(session.accessToken));
    expect(again.response.status).toBe(401);
    expect(again.error).toEqual({ message: 'Invalid/Expired Token!' });
  });

  it('answers 401 "Token Expired!" for an expired token', async () => {
    const session = await loginAs(t.client, 'jamesd', { expiresInMins: 1 });
    t.clock.advance(60 + t.config.clockToleranceS + 1);
    const { error, response } = await logout(bearer(session.accessToken));
    expect(response.status).toBe(401);
    expect(error).toEqual({ message: 'Token Expired!' });
    expectBothCleared(response);
  });
});
