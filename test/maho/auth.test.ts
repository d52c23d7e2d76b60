// /api/rest/v2/auth/token, /refresh, /logout — every grant, every error, claims, renewal and
// revocation, and Maho tokens refused by the other dialects.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cocartValidateToken,
  dummyjsonMe,
  mahoGetMe,
  mahoLogout,
  mahoRefresh,
  mahoToken,
  getMetrics,
} from '../../generated/client/sdk.gen.js';
import { zMahoError, zMahoRefreshResponse, zMahoTokenResponse } from '../../generated/client/zod.gen.js';
import { bearer, loginAs } from '../helpers/dummyjson.js';
import { FORM, formBody, startTestServer, type TestServer } from '../helpers/gatehouse.js';
import { customerToken, demoApiUserToken, demoClientToken, mahoError } from '../helpers/maho.js';
import { newOAuthClient } from '../helpers/oauth.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

type Init = { headers?: Record<string, string>; bodySerializer?: (b: unknown) => string };
const token = (body: unknown, init: Init = {}) => mahoToken({ client: t.client, body: body as never, ...init });

async function expectError(p: ReturnType<typeof token>, status: number, error: string, message: string | RegExp) {
  const { error: body, response } = await p;
  expect(response.status).toBe(status);
  const parsed = zMahoError.parse(body);
  expect(parsed).toMatchObject({ error, code: status });
  if (typeof message === 'string') expect(parsed.message).toBe(message);
  else expect(parsed.message).toMatch(message);
  if (status === 401) expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
  return response;
}

describe('POST /api/rest/v2/auth/token', () => {
  it('customer grant (the default): both spellings, the customer, and nothing that does not apply', async () => {
    const { data, response } = await token({ email: 'emily.johnson@x.dummyjson.com', password: 'emilyspass' });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(zMahoTokenResponse.parse(data)).toEqual({
      token: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 3600,
      token_type: 'Bearer',
      expires_in: 3600,
      customer: { id: 1, email: 'emily.johnson@x.dummyjson.com', firstName: 'Emily', lastName: 'Johnson' },
    });
    const claims = decodeJwt(data!.token);
    expect(claims).toMatchObject({
      iss: 'http://gatehouse.test',
      aud: 'maho-api',
      sub: 'customer_1',
      type: 'customer',
      roles: ['ROLE_CUSTOMER'],
      customer_id: 1,
      email: 'emily.johnson@x.dummyjson.com',
    });
    expect(claims.jti).toBeTruthy();
    expect(claims.nbf).toBe(claims.iat);
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(JSON.stringify(claims)).not.toMatch(/password|secret|hash/i);
  });

  it('customer grant by username, with an explicit grant_type, and as a form', async () => {
    expect((await token({ grant_type: 'customer', username: 'michaelw', password: 'michaelwpass' })).data!.customer!.id).toBe(2);
    const form = await token({ username: 'sophiab', password: 'sophiabpass' }, { headers: FORM, bodySerializer: formBody });
    expect(form.response.status).toBe(200);
    expect(form.data!.customer!.id).toBe(3);
  });

  it('client_credentials: apiUser and permissions, service claims, no customer', async () => {
    const { data } = await token({ grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret' });
    const body = zMahoTokenResponse.parse(data);
    expect(body.apiUser).toEqual({ id: expect.any(Number), username: 'demo-client' });
    expect(body.permissions).toEqual(['all']);
    expect(body).not.toHaveProperty('customer');
    expect(decodeJwt(body.token)).toMatchObject({
      aud: 'maho-api',
      sub: `api_user_${body.apiUser!.id}`,
      type: 'api_user',
      roles: [],
      api_user_id: body.apiUser!.id,
      username: 'demo-client',
      permissions: ['all'],
    });
  });

  it('api_user grant', async () => {
    const { data } = await token({ grant_type: 'api_user', username: 'demo-api', api_key: 'demo-api-key' });
    expect(zMahoTokenResponse.parse(data)).toMatchObject({ apiUser: { username: 'demo-api' }, permissions: ['customers/read'] });
  });

  it.each([
    ['no password', { email: 'emily.johnson@x.dummyjson.com' }, 'email (or username) and password are required'],
    ['a blank password', { email: 'emily.johnson@x.dummyjson.com', password: '   ' }, 'email (or username) and password are required'],
    ['a blank email', { email: '   ', password: 'x' }, /^Invalid request: body\.email must match format "email"$/],
    ['an email that is not one', { email: 'not-an-email', password: 'x' }, /^Invalid request: body\.email must match format "email"$/],
    ['client_credentials without a secret', { grant_type: 'client_credentials', client_id: 'demo-client' }, 'client_id and client_secret are required'],
    ['api_user without a key', { grant_type: 'api_user', username: 'demo-api', api_key: ' ' }, 'username and api_key are required'],
  ])('answers 400 invalid_request for %s', async (_name, body, message) => {
    await expectError(token(body), 400, 'invalid_request', message);
  });

  it('answers 400 invalid_request for a request with no body at all', async () => {
    const response = await fetch(`${t.url}/api/rest/v2/auth/token`, { method: 'POST' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual(mahoError(400, 'invalid_request', 'A JSON request body is required'));
  });

  it('answers 400 unsupported_grant_type listing the supported grants', async () => {
    await expectError(
      token({ grant_type: 'password', username: 'x', password: 'y' }),
      400,
      'unsupported_grant_type',
      'Unsupported grant_type. Supported grants: customer, client_credentials, api_user',
    );
  });

  it('answers 401 invalid_credentials alike for an unknown customer and a wrong password', async () => {
    const wrong = await token({ email: 'emily.johnson@x.dummyjson.com', password: 'wrong-password' });
    const unknown = await token({ email: 'nobody@example.com', password: 'wrong-password' });
    expect(wrong.response.status).toBe(401);
    expect(wrong.error).toEqual(mahoError(401, 'invalid_credentials', 'Invalid email or password'));
    expect(JSON.stringify(unknown.error)).toBe(JSON.stringify(wrong.error));
    expect(unknown.response.headers.get('www-authenticate')).toBe('Bearer realm="maho"');
  });

  it('answers 401 invalid_client alike for an unknown client, a wrong secret and a wrong API key', async () => {
    const bodies = [
      { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'wrong' },
      { grant_type: 'client_credentials', client_id: 'ghc_00000000000000000000000000000000', client_secret: 'wrong' },
      { grant_type: 'api_user', username: 'demo-api', api_key: 'wrong' },
      { grant_type: 'api_user', username: 'demo-client', api_key: 'demo-client-secret' }, // a client is not an API user
    ];
    for (const body of bodies) {
      await expectError(token(body), 401, 'invalid_client', 'Invalid client credentials');
    }
  });

  it('answers 400 unauthorized_client to an API client not given client_credentials, once its secret is right', async () => {
    const pwOnly = await newOAuthClient(t, ['password'], ['all']);
    const refused = await expectError(
      token({ grant_type: 'client_credentials', client_id: pwOnly.id, client_secret: pwOnly.secret }),
      400,
      'unauthorized_client',
      'This client may not use the client_credentials grant',
    );
    expect(refused.headers.get('www-authenticate')).toBeNull();
    // Without the secret, the same client answers exactly as an unknown one: nothing is revealed.
    const wrong = await token({ grant_type: 'client_credentials', client_id: pwOnly.id, client_secret: 'wrong' });
    const unknown = await token({ grant_type: 'client_credentials', client_id: 'ghc_00000000000000000000000000000000', client_secret: 'wrong' });
    expect(wrong.response.status).toBe(401);
    expect(wrong.error).toEqual(mahoError(401, 'invalid_client', 'Invalid client credentials'));
    expect(JSON.stringify(unknown.error)).toBe(JSON.stringify(wrong.error));
    expect(wrong.response.headers.get('www-authenticate')).toBe(unknown.response.headers.get('www-authenticate'));
  });

  it('a client given client_credentials among other grants, and an API user (who has no grant list), still get tokens', async () => {
    const both = await newOAuthClient(t, ['password', 'client_credentials'], ['customers/read']);
    const { data, response } = await token({ grant_type: 'client_credentials', client_id: both.id, client_secret: both.secret });
    expect(response.status).toBe(200);
    expect(zMahoTokenResponse.parse(data)).toMatchObject({ apiUser: { id: both.principal.id, username: both.id }, permissions: ['customers/read'] });
    const apiUser = await t.gatehouse.services.servicePrincipals.create('api_user', { name: 'grantless-api', permissions: ['customers/read'] });
    expect(apiUser.principal.grantTypes).toEqual([]);
    const user = await token({ grant_type: 'api_user', username: 'grantless-api', api_key: apiUser.secret });
    expect(user.response.status).toBe(200);
    expect(zMahoTokenResponse.parse(user.data)).toMatchObject({ apiUser: { username: 'grantless-api' }, permissions: ['customers/read'] });
  });

  it('answers concurrent grants each on its own (on PostgreSQL their lookups and new sessions share statements)', async () => {
    const good = { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret' };
    const bodies = [
      good,
      { ...good, client_secret: 'wrong' },
      { ...good, client_id: 'DEMO-CLIENT' }, // client_ids match without regard to case, as on their own
      { ...good, client_id: 'ghc_00000000000000000000000000000000' },
      { grant_type: 'api_user', username: 'demo-api', api_key: 'demo-api-key' },
      { grant_type: 'api_user', username: 'demo-client', api_key: 'demo-client-secret' }, // a client is not an API user
      ...Array(17).fill(good), // enough at once that some arrive in the same turn and share statements
    ];
    const results = await Promise.all(bodies.map((body) => token(body)));
    expect(results.map((r) => r.response.status)).toEqual([200, 401, 200, 401, 200, 401, ...Array(17).fill(200)]);
    for (const r of results.filter((r) => r.response.status === 401)) {
      expect(r.error).toEqual(mahoError(401, 'invalid_client', 'Invalid client credentials'));
    }
    // Each success has a session of its own: revoking one leaves the others live.
    const issued = results.filter((r) => r.response.status === 200).map((r) => zMahoTokenResponse.parse(r.data).token);
    expect(new Set(issued).size).toBe(20);
    expect((await mahoLogout({ client: t.client, headers: bearer(issued[0]!) })).response.status).toBe(200);
    expect((await mahoLogout({ client: t.client, headers: bearer(issued[0]!) })).response.status).toBe(401);
    for (const tok of issued.slice(1)) expect((await mahoLogout({ client: t.client, headers: bearer(tok) })).response.status).toBe(200);
    // Not one batch of new sessions was refused by the server and retried one by one.
    const metrics = await getMetrics({ client: t.client, parseAs: 'text' });
    expect(metrics.data as unknown as string).not.toMatch(/^gatehouse_store_batches_retried_total\{/m);
  });

  it('answers 400, 413 and 415 in the Maho format', async () => {
    await expectError(token({}, { bodySerializer: () => '{"email":' }), 400, 'invalid_request', 'Request body is not valid JSON');
    await expectError(token({ email: 'a@b.co', password: 'x'.repeat(100_000) }), 413, 'payload_too_large', 'Request body is too large');
    await expectError(
      token({}, { headers: { 'Content-Type': 'text/plain' }, bodySerializer: () => 'x' }),
      415,
      'unsupported_media_type',
      'Unsupported Content-Type',
    );
    await expectError(token({ email: 5, password: 'x' }), 400, 'invalid_request', /^Invalid request: body\.email/);
  });

  it('answers 404 and 405 in the Maho format', async () => {
    const missing = await fetch(`${t.url}/api/rest/v2/nothing`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual(mahoError(404, 'not_found', 'Not found'));
    const wrong = await fetch(`${t.url}/api/rest/v2/auth/token`);
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toEqual(mahoError(405, 'method_not_allowed', 'Method not allowed'));
  });

  it('uses MAHO_AUDIENCE', async () => {
    const custom = await startTestServer({ MAHO_AUDIENCE: 'shop-api' });
    try {
      const { data } = await mahoToken({ client: custom.client, body: { username: 'emilys', password: 'emilyspass' } });
      expect(decodeJwt(data!.token).aud).toBe('shop-api');
      expect((await mahoGetMe({ client: custom.client, headers: bearer(data!.token) })).response.status).toBe(200);
    } finally {
      await custom.close();
    }
  });
});

describe('POST /api/rest/v2/auth/refresh', () => {
  const refresh = (headers: Record<string, string>) => mahoRefresh({ client: t.client, headers });

  it('renews a customer token with no body and no Content-Type; the old token dies at once', async () => {
    const old = await customerToken(t.client, 'emmaj');
    const { data, response } = await refresh(bearer(old));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(zMahoRefreshResponse.parse(data)).toEqual({
      token: expect.any(String),
      tokenType: 'Bearer',
      expiresIn: 3600,
      token_type: 'Bearer',
      expires_in: 3600,
    });
    expect((await mahoGetMe({ client: t.client, headers: bearer(data!.token) })).response.status).toBe(200);
    const stale = await mahoGetMe({ client: t.client, headers: bearer(old) });
    expect(stale.response.status).toBe(401);
    expect(stale.error).toEqual(mahoError(401, 'unauthorized', 'Invalid or expired token'));
    expect((await refresh(bearer(old))).response.status).toBe(401);
  });

  it('ignores the body entirely, even malformed JSON', async () => {
    const old = await customerToken(t.client, 'michaelw');
    const response = await fetch(`${t.url}/api/rest/v2/auth/refresh`, {
      method: 'POST',
      headers: { ...bearer(old), 'Content-Type': 'application/json' },
      body: '{"not json',
    });
    expect(response.status).toBe(200);
  });

  it('answers 401 for no token, an expired token, a revoked token and a service token', async () => {
    const none = await refresh({});
    expect(none.response.status).toBe(401);
    expect(none.error).toEqual(mahoError(401, 'unauthorized', 'Authentication required'));
    expect(none.response.headers.get('www-authenticate')).toBe('Bearer realm="maho"');

    const expiring = await customerToken(t.client, 'jamesd');
    t.clock.advance(3600 + t.config.clockToleranceS + 1);
    const expired = await refresh(bearer(expiring));
    expect(expired.response.status).toBe(401);
    expect(expired.response.headers.get('www-authenticate')).toBe('Bearer realm="maho", error="invalid_token"');

    const revoked = await customerToken(t.client, 'jamesd');
    await mahoLogout({ client: t.client, headers: bearer(revoked) });
    expect((await refresh(bearer(revoked))).error).toEqual(mahoError(401, 'unauthorized', 'Invalid or expired token'));

    for (const service of [await demoClientToken(t.client), await demoApiUserToken(t.client)]) {
      const r = await refresh(bearer(service));
      expect(r.response.status).toBe(401);
      expect(r.error).toEqual(mahoError(401, 'unauthorized', 'Invalid or expired token'));
    }
  });
});

describe('POST /api/rest/v2/auth/logout', () => {
  it('revokes the presented token, customer or service', async () => {
    for (const tok of [await customerToken(t.client), await demoClientToken(t.client)]) {
      const { data, response } = await mahoLogout({ client: t.client, headers: bearer(tok) });
      expect(response.status).toBe(200);
      expect(data).toEqual({ success: true, message: 'Successfully logged out' });
      const after = await mahoLogout({ client: t.client, headers: bearer(tok) });
      expect(after.response.status).toBe(401);
      expect(after.error).toEqual(mahoError(401, 'unauthorized', 'Invalid or expired token'));
    }
  });

  it('answers 401 Authentication required with no token', async () => {
    const { error, response } = await mahoLogout({ client: t.client });
    expect(response.status).toBe(401);
    expect(error).toEqual(mahoError(401, 'unauthorized', 'Authentication required'));
  });
});

describe('dialect isolation', () => {
  it('refuses Maho tokens in the DummyJSON and CoCart dialects, and theirs here', async () => {
    const maho = await customerToken(t.client);
    expect((await mahoGetMe({ client: t.client, headers: bearer(maho) })).response.status).toBe(200);
    expect((await dummyjsonMe({ client: t.client, headers: bearer(maho) })).response.status).toBe(401);
    expect((await cocartValidateToken({ client: t.client, headers: bearer(maho) })).response.status).toBe(401);
    const dummy = await loginAs(t.client, 'emilys');
    const refused = await mahoGetMe({ client: t.client, headers: bearer(dummy.accessToken) });
    expect(refused.response.status).toBe(401);
    expect(refused.error).toEqual(mahoError(401, 'unauthorized', 'Invalid or expired token'));
  });
});
