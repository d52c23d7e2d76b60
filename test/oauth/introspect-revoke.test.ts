// POST /oauth/introspect (RFC 7662) and POST /oauth/revoke (RFC 7009) for tokens of every
// dialect: what is live answers with its standard fields; anything revoked, expired, foreign
// or malformed is {"active": false}; revocation ends the whole session everywhere.
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cocartValidateToken, dummyjsonMe, dummyjsonRefresh, mahoGetMe, mahoRefresh, oauthIntrospect, oauthRevoke, oauthToken } from '../../generated/client/sdk.gen.js';
import { zOAuthError, zOAuthIntrospection } from '../../generated/client/zod.gen.js';
import { cocartLoginAs, UA } from '../helpers/cocart.js';
import { bearer, loginAs } from '../helpers/dummyjson.js';
import { startTestServer, type TestServer } from '../helpers/gatehouse.js';
import { customerToken, demoClientToken } from '../helpers/maho.js';
import { basic, DEMO_CLIENT, introspect, newOAuthClient, oauthTokenFor, revoke } from '../helpers/oauth.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const ISS = 'http://gatehouse.test';

async function expectError(p: Promise<{ error?: unknown; response: Response }>, status: number, error: string, description?: string) {
  const { error: body, response } = await p;
  expect(response.status).toBe(status);
  expect(response.headers.get('cache-control')).toBe('no-store');
  const parsed = zOAuthError.parse(body);
  expect(parsed.error).toBe(error);
  if (description) expect(parsed.error_description).toBe(description);
  if (status === 401) expect(response.headers.get('www-authenticate')).toBe('Basic realm="gatehouse"');
  else expect(response.headers.get('www-authenticate')).toBeNull();
  return response;
}

async function active(token: string) {
  const { data, response } = await introspect(t.client, token);
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('no-store');
  return zOAuthIntrospection.parse(data);
}

describe('POST /oauth/introspect', () => {
  it('a DummyJSON access token and refresh token', async () => {
    const login = await loginAs(t.client, 'emilys');
    const claims = decodeJwt(login.accessToken);
    expect(await active(login.accessToken)).toEqual({
      active: true,
      token_type: 'Bearer',
      username: 'emilys',
      sub: '1',
      aud: 'gatehouse:dummyjson',
      iss: ISS,
      exp: claims.exp,
      iat: claims.iat,
      nbf: claims.nbf,
      jti: claims.jti,
    });
    // A dialect's refresh token belongs to no OAuth client: no client may see it.
    expect(await active(login.refreshToken)).toEqual({ active: false });
  });

  it('an OAuth refresh token, to the client it was issued to only', async () => {
    const pw = await oauthTokenFor(t.client, { grant_type: 'password', username: 'emilys', password: 'emilyspass' });
    const refresh = await active(pw.refresh_token!);
    expect(refresh).toEqual({
      active: true,
      token_type: 'refresh_token',
      username: 'emilys',
      client_id: 'demo-client',
      aud: 'gatehouse:oauth',
      iss: ISS,
      exp: expect.any(Number),
      iat: decodeJwt(pw.access_token).iat,
    });
    expect(refresh.exp! - refresh.iat!).toBe(t.config.refreshTokenTtlS);
    const other = await newOAuthClient(t, ['client_credentials']);
    expect((await introspect(t.client, pw.refresh_token!, other)).data).toEqual({ active: false });
    // Its access token is for resource servers: every client may introspect it.
    expect((await introspect(t.client, pw.access_token, other)).data).toMatchObject({ active: true, client_id: 'demo-client' });
  });

  it('CoCart tokens (device binding is for the dialect’s own routes, not for a resource server)', async () => {
    const login = await cocartLoginAs(t.client, 'michaelw');
    expect(await active(login.extras.jwt_token)).toMatchObject({ active: true, aud: 'gatehouse:cocart', username: 'michaelw', token_type: 'Bearer' });
    expect(await active(login.extras.jwt_refresh)).toEqual({ active: false });
  });

  it('Maho customer and service tokens', async () => {
    expect(await active(await customerToken(t.client, 'emmaj'))).toMatchObject({ active: true, aud: 'maho-api', sub: expect.stringMatching(/^customer_\d+$/), username: 'emmaj' });
    expect(await active(await demoClientToken(t.client))).toMatchObject({ active: true, aud: 'maho-api', sub: 'api_user_1', username: 'demo-client', client_id: 'demo-client' });
  });

  it('OAuth tokens carry client_id and scope', async () => {
    const cc = await oauthTokenFor(t.client, { grant_type: 'client_credentials', scope: 'customers/read' });
    expect(await active(cc.access_token)).toMatchObject({ active: true, aud: 'gatehouse:oauth', client_id: 'demo-client', scope: 'customers/read', sub: 'client_1' });
    const pw = await oauthTokenFor(t.client, { grant_type: 'password', username: 'jamesd', password: 'jamesdpass' });
    expect(await active(pw.refresh_token!)).toMatchObject({ active: true, client_id: 'demo-client', username: 'jamesd', token_type: 'refresh_token' });
  });

  it('a service token’s scope shrinks with its client’s permissions', async () => {
    const c = await newOAuthClient(t, ['client_credentials'], ['customers/read', 'customers/write']);
    const { access_token } = await oauthTokenFor(t.client, { grant_type: 'client_credentials' }, c);
    expect(await active(access_token)).toMatchObject({ active: true, scope: 'customers/read customers/write' });
    await t.gatehouse.services.servicePrincipals.setPermissions(c.principal.id, ['customers/read']);
    expect(await active(access_token)).toMatchObject({ active: true, scope: 'customers/read' });
  });

  it('deactivating a client ends the sessions it obtained for users; reactivating does not revive them', async () => {
    const c = await newOAuthClient(t, ['password', 'refresh_token']);
    const pw = await oauthTokenFor(t.client, { grant_type: 'password', username: 'emilys', password: 'emilyspass' }, c);
    expect((await active(pw.access_token)).active).toBe(true);
    await t.gatehouse.services.servicePrincipals.setActive(c.principal.id, false);
    expect(await active(pw.access_token)).toEqual({ active: false });
    await t.gatehouse.services.servicePrincipals.setActive(c.principal.id, true);
    expect(await active(pw.access_token)).toEqual({ active: false });
    expect((await oauthToken({ client: t.client, body: { grant_type: 'refresh_token', refresh_token: pw.refresh_token! }, headers: basic(c.id, c.secret) })).response.status).toBe(400);
  });

  it('a token signed with the server’s own key but naming another subject is inactive', async () => {
    const login = await loginAs(t.client, 'emilys');
    const { key, kid } = t.gatehouse.services.keys.signingKey();
    const forged = await new SignJWT({ ...decodeJwt(login.accessToken), sub: '2' }).setProtectedHeader({ alg: 'ES256', kid, typ: 'at+jwt' }).sign(key);
    expect(await active(forged)).toEqual({ active: false });
    expect((await active(login.accessToken)).active).toBe(true);
  });

  it('inactive: revoked, expired, rotated, deactivated user, foreign key, tampered, malformed, unknown', async () => {
    const inactive = async (token: string) => expect(await active(token)).toEqual({ active: false });

    const loggedOut = await loginAs(t.client, 'emilys');
    await fetch(`${t.url}/auth/logout`, { method: 'POST', headers: bearer(loggedOut.accessToken) });
    await inactive(loggedOut.accessToken);
    await inactive(loggedOut.refreshToken);

    const rotated = await loginAs(t.client, 'emilys');
    await dummyjsonRefresh({ client: t.client, body: { refreshToken: rotated.refreshToken } });
    await inactive(rotated.refreshToken);

    const expiring = await loginAs(t.client, 'emilys', { expiresInMins: 1 });
    t.clock.advance(60 + t.config.clockToleranceS + 1);
    try {
      await inactive(expiring.accessToken);
    } finally {
      t.clock.advance(-(60 + t.config.clockToleranceS + 1));
    }

    const user = await loginAs(t.client, 'jamesd');
    const users = t.gatehouse.services.accounts;
    await users.setActive(4, false);
    try {
      await inactive(user.accessToken);
    } finally {
      await users.setActive(4, true);
    }

    const fresh = await loginAs(t.client, 'emilys');
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(decodeJwt(fresh.accessToken))
      .setProtectedHeader({ ...decodeProtectedHeader(fresh.accessToken), alg: 'ES256' } as never)
      .sign(privateKey);
    await inactive(forged);
    const [h, p, sig] = fresh.accessToken.split('.');
    const payload = { ...decodeJwt(fresh.accessToken), sub: '2' };
    await inactive(`${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`);
    await inactive(`${h}.${p}.`);
    await inactive('not-a-token');
    await inactive('a.b.c');
    await inactive('x'.repeat(10_000));
    await inactive(`${'a'.repeat(5_000)}.${'b'.repeat(5_000)}.c`); // JWT-shaped, over the 8 KB cap
    // And the genuine one is still live: nothing above touched it.
    expect((await active(fresh.accessToken)).active).toBe(true);
  });

  it('400 without a token; 401 without or with wrong client credentials', async () => {
    const as = basic(DEMO_CLIENT.id, DEMO_CLIENT.secret);
    await expectError(oauthIntrospect({ client: t.client, body: { token: '' }, headers: as }), 400, 'invalid_request', 'token is required');
    await expectError(oauthIntrospect({ client: t.client, body: { token_type_hint: 'access_token' } as never, headers: as }), 400, 'invalid_request');
    await expectError(oauthIntrospect({ client: t.client, body: {} as never, headers: as }), 400, 'invalid_request');
    const login = await loginAs(t.client, 'emilys');
    await expectError(oauthIntrospect({ client: t.client, body: { token: login.accessToken } }), 401, 'invalid_client', 'Client authentication failed');
    await expectError(introspect(t.client, login.accessToken, { id: 'demo-client', secret: 'wrong' }), 401, 'invalid_client');
    // client_secret_post works too.
    const { data } = await oauthIntrospect({ client: t.client, body: { token: login.accessToken, client_id: 'demo-client', client_secret: 'demo-client-secret' } });
    expect(data).toMatchObject({ active: true });
  });

  it('413 and 415 in the OAuth format', async () => {
    await expectError(introspect(t.client, 'x'.repeat(40_000)), 413, 'invalid_request', 'Request body is too large');
    await expectError(
      oauthIntrospect({ client: t.client, body: { token: 'x' }, headers: { ...basic(DEMO_CLIENT.id, DEMO_CLIENT.secret), 'Content-Type': 'application/json' }, bodySerializer: JSON.stringify }),
      415,
      'invalid_request',
    );
  });

  it('successful calls do not use up the per-IP limit; failed ones do (429 with Retry-After)', async () => {
    const limited = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_IP: '3/60', RATE_LIMIT_LOGIN_ACCOUNT: '100/60' });
    try {
      for (let i = 0; i < 10; i++) expect((await introspect(limited.client, 'x')).response.status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await introspect(limited.client, 'x', { id: 'demo-client', secret: 'bad' })).response.status).toBe(401);
      const r = await expectError(introspect(limited.client, 'x'), 429, 'temporarily_unavailable');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      await expectError(revoke(limited.client, 'x'), 429, 'temporarily_unavailable');
    } finally {
      await limited.close();
    }
  });
});

describe('POST /oauth/revoke', () => {
  it('a DummyJSON refresh token: the whole session ends, access token included', async () => {
    const login = await loginAs(t.client, 'emilys');
    const { data, response } = await revoke(t.client, login.refreshToken);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(data).toEqual({});
    expect((await dummyjsonMe({ client: t.client, headers: bearer(login.accessToken) })).response.status).toBe(401);
    expect((await dummyjsonRefresh({ client: t.client, body: { refreshToken: login.refreshToken } })).response.status).toBe(403);
  });

  it('access tokens of CoCart, Maho and OAuth', async () => {
    const cocart = await cocartLoginAs(t.client, 'emilys');
    expect((await revoke(t.client, cocart.extras.jwt_token)).response.status).toBe(200);
    const validated = await cocartValidateToken({ client: t.client, headers: { ...bearer(cocart.extras.jwt_token), 'User-Agent': UA } });
    expect(validated.response.status).toBe(401);

    const maho = await customerToken(t.client, 'emilys');
    expect((await mahoGetMe({ client: t.client, headers: bearer(maho) })).response.status).toBe(200);
    expect((await revoke(t.client, maho)).response.status).toBe(200);
    expect((await mahoGetMe({ client: t.client, headers: bearer(maho) })).response.status).toBe(401);

    const pw = await oauthTokenFor(t.client, { grant_type: 'password', username: 'emilys', password: 'emilyspass' });
    expect((await revoke(t.client, pw.access_token)).response.status).toBe(200);
    expect(await active(pw.access_token)).toEqual({ active: false });
    expect(await active(pw.refresh_token!)).toEqual({ active: false });
  });

  it('200 and nothing done for unknown, malformed, expired or already revoked tokens', async () => {
    for (const token of ['unknown-refresh-token', 'a.b.c', 'x']) {
      const { data, response } = await revoke(t.client, token);
      expect(response.status).toBe(200);
      expect(data).toEqual({});
    }
    const login = await loginAs(t.client, 'emilys', { expiresInMins: 1 });
    t.clock.advance(60 + t.config.clockToleranceS + 1);
    try {
      expect((await revoke(t.client, login.accessToken)).response.status).toBe(200);
    } finally {
      t.clock.advance(-(60 + t.config.clockToleranceS + 1));
    }
    // An expired access token revokes nothing: its session lives on.
    expect((await dummyjsonRefresh({ client: t.client, body: { refreshToken: login.refreshToken } })).response.status).toBe(200);
  });

  it('a renewed (Maho) or rotated (DummyJSON) token revokes nothing', async () => {
    const old = await customerToken(t.client, 'emilys');
    const renewed = (await mahoRefresh({ client: t.client, headers: bearer(old) })).data!.token;
    expect((await revoke(t.client, old)).response.status).toBe(200);
    expect((await mahoGetMe({ client: t.client, headers: bearer(renewed) })).response.status).toBe(200);

    const login = await loginAs(t.client, 'emilys');
    const next = await dummyjsonRefresh({ client: t.client, body: { refreshToken: login.refreshToken } });
    expect((await revoke(t.client, login.refreshToken)).response.status).toBe(200);
    expect((await dummyjsonMe({ client: t.client, headers: bearer(next.data!.accessToken) })).response.status).toBe(200);
  });

  it('a Maho API client’s own token may be revoked by that client only', async () => {
    const token = await demoClientToken(t.client);
    const other = await newOAuthClient(t, ['client_credentials']);
    await expectError(revoke(t.client, token, other), 400, 'unauthorized_client');
    expect((await revoke(t.client, token)).response.status).toBe(200);
    expect((await mahoGetMe({ client: t.client, headers: bearer(token) })).response.status).toBe(401);
  });

  it('400 unauthorized_client for a token of another OAuth client, which stays live', async () => {
    const other = await newOAuthClient(t, ['client_credentials']);
    const pw = await oauthTokenFor(t.client, { grant_type: 'password', username: 'emilys', password: 'emilyspass' });
    await expectError(revoke(t.client, pw.refresh_token!, other), 400, 'unauthorized_client', 'The token was issued to another client');
    await expectError(revoke(t.client, pw.access_token, other), 400, 'unauthorized_client');
    expect((await active(pw.access_token)).active).toBe(true);
  });

  it('400 without a token, 401, 413, 415', async () => {
    const as = basic(DEMO_CLIENT.id, DEMO_CLIENT.secret);
    await expectError(oauthRevoke({ client: t.client, body: { token: '' }, headers: as }), 400, 'invalid_request', 'token is required');
    await expectError(oauthRevoke({ client: t.client, body: { token_type_hint: 'access_token' } as never, headers: as }), 400, 'invalid_request');
    await expectError(oauthRevoke({ client: t.client, body: {} as never, headers: as }), 400, 'invalid_request');
    await expectError(oauthRevoke({ client: t.client, body: { token: 'x' } }), 401, 'invalid_client');
    await expectError(revoke(t.client, 'x', { id: 'demo-api', secret: 'demo-api-key' }), 401, 'invalid_client');
    await expectError(revoke(t.client, 'x'.repeat(40_000)), 413, 'invalid_request');
    await expectError(
      oauthRevoke({ client: t.client, body: { token: 'x' }, headers: { ...basic(DEMO_CLIENT.id, DEMO_CLIENT.secret), 'Content-Type': 'text/plain' }, bodySerializer: () => 'token=x' }),
      415,
      'invalid_request',
    );
  });
});
