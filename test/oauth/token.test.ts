// POST /oauth/token (RFC 6749) and the RFC 8414 metadata: every grant, both client
// authentication methods, and every error code of section 5.2.
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonMe, getOAuthMetadata, mahoGetMe, oauthToken } from '../../generated/client/sdk.gen.js';
import { zOAuthError, zOAuthMetadata, zOAuthTokenResponse } from '../../generated/client/zod.gen.js';
import { bearer } from '../helpers/dummyjson.js';
import { startTestServer, type TestServer } from '../helpers/gatehouse.js';
import { basic, DEMO_CLIENT, introspect, newOAuthClient, oauthTokenFor } from '../helpers/oauth.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

type Init = { headers?: Record<string, string>; bodySerializer?: (b: unknown) => string };
const token = (body: unknown, init: Init = { headers: basic(DEMO_CLIENT.id, DEMO_CLIENT.secret) }) =>
  oauthToken({ client: t.client, body: body as never, ...init });

async function expectError(p: Promise<{ error?: unknown; response: Response }>, status: number, error: string, description?: string | RegExp) {
  const { error: body, response } = await p;
  expect(response.status).toBe(status);
  expect(response.headers.get('cache-control')).toBe('no-store');
  expect(response.headers.get('pragma')).toBe('no-cache');
  const parsed = zOAuthError.parse(body);
  expect(parsed.error).toBe(error);
  if (typeof description === 'string') expect(parsed.error_description).toBe(description);
  else if (description) expect(parsed.error_description).toMatch(description);
  if (status === 401) expect(response.headers.get('www-authenticate')).toBe('Basic realm="gatehouse"');
  else expect(response.headers.get('www-authenticate')).toBeNull();
  return response;
}

describe('GET /.well-known/oauth-authorization-server', () => {
  it('lists the endpoints, grants, auth methods, scopes and algorithm that work, from PUBLIC_URL', async () => {
    const { data, response } = await getOAuthMetadata({ client: t.client });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(response.headers.get('pragma')).toBeNull();
    expect(zOAuthMetadata.parse(data)).toEqual({
      issuer: 'http://gatehouse.test',
      token_endpoint: 'http://gatehouse.test/oauth/token',
      jwks_uri: 'http://gatehouse.test/.well-known/jwks.json',
      revocation_endpoint: 'http://gatehouse.test/oauth/revoke',
      introspection_endpoint: 'http://gatehouse.test/oauth/introspect',
      scopes_supported: ['all', 'customers/read', 'customers/create', 'customers/write', 'customers/delete', 'customers/all'],
      response_types_supported: [],
      grant_types_supported: ['client_credentials', 'password', 'refresh_token'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
      access_token_signing_alg_values_supported: ['ES256'],
      service_documentation: 'http://gatehouse.test/openapi.json',
    });
  });
});

describe('client_credentials', () => {
  it('client_secret_basic: an RFC 9068 token with all of the client’s permissions as scope, no refresh token', async () => {
    const { data, response } = await token({ grant_type: 'client_credentials' });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(zOAuthTokenResponse.parse(data)).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'all' });
    expect(decodeProtectedHeader(data!.access_token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt', kid: expect.any(String) });
    const claims = decodeJwt(data!.access_token);
    expect(claims).toMatchObject({ iss: 'http://gatehouse.test', aud: 'gatehouse:oauth', sub: 'client_1', client_id: 'demo-client', scope: 'all' });
    expect(Object.keys(claims).sort()).toEqual(['aud', 'client_id', 'exp', 'gen', 'iat', 'iss', 'jti', 'nbf', 'scope', 'sid', 'sub']);
    expect(claims.exp! - claims.iat!).toBe(3600);
  });

  it('client_secret_post, with a narrower scope', async () => {
    const { data, response } = await token(
      { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret', scope: 'customers/read customers/write' },
      {},
    );
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ scope: 'customers/read customers/write' });
    expect(decodeJwt(data!.access_token).scope).toBe('customers/read customers/write');
  });

  it('a secret with reserved characters, form-encoded inside Basic as RFC 6749 2.3.1 says', async () => {
    const odd = await t.gatehouse.services.servicePrincipals.create('api_client', {
      name: 'odd-client:1',
      secret: 'p@ss w:rd+%',
      permissions: ['customers/read'],
    });
    const { data, response } = await token({ grant_type: 'client_credentials' }, { headers: basic('odd-client:1', odd.secret) });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ scope: 'customers/read' });
  });

  it('invalid_scope: more than the client holds, or a malformed scope', async () => {
    const narrow = await newOAuthClient(t, ['client_credentials'], ['customers/read']);
    const as = { headers: basic(narrow.id, narrow.secret) };
    await expectError(token({ grant_type: 'client_credentials', scope: 'customers/delete' }, as), 400, 'invalid_scope', 'Scope not granted to this client: customers/delete');
    await expectError(token({ grant_type: 'client_credentials', scope: 'all' }, as), 400, 'invalid_scope');
    await expectError(token({ grant_type: 'client_credentials', scope: 'customers/all' }, as), 400, 'invalid_scope');
    await expectError(token({ grant_type: 'client_credentials', scope: 'nonsense' }, as), 400, 'invalid_scope');
    await expectError(token({ grant_type: 'client_credentials', scope: 'a"b' }, as), 400, 'invalid_scope', 'Malformed scope');
    // Even `all` does not cover a scope nobody defined.
    await expectError(token({ grant_type: 'client_credentials', scope: 'orders/read' }), 400, 'invalid_scope');
    const ok = await token({ grant_type: 'client_credentials', scope: 'customers/read' }, as);
    expect(ok.response.status).toBe(200);
  });

  it('a permission of a resource Gatehouse does not guard, which the client holds, may be asked for by scope', async () => {
    const c = await newOAuthClient(t, ['client_credentials'], ['orders/read', 'invoices/all', 'customers/read']);
    const as = { headers: basic(c.id, c.secret) };
    // By default the token carries it; asked for, it is granted alone, and introspection shows it.
    expect((await token({ grant_type: 'client_credentials' }, as)).data).toMatchObject({ scope: 'orders/read invoices/all customers/read' });
    const { data, response } = await token({ grant_type: 'client_credentials', scope: 'orders/read' }, as);
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(zOAuthTokenResponse.parse(data)).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600, scope: 'orders/read' });
    expect(decodeJwt(data!.access_token).scope).toBe('orders/read');
    expect((await introspect(t.client, data!.access_token)).data).toMatchObject({ active: true, scope: 'orders/read', client_id: c.id });
    // Narrower than a held `<resource>/all`, beside a guarded scope.
    const narrower = await token({ grant_type: 'client_credentials', scope: 'invoices/read customers/read invoices/all' }, as);
    expect(narrower.data).toMatchObject({ scope: 'invoices/read customers/read invoices/all' });
    // Still never more than the client holds, nor a resource it has nothing of.
    for (const scope of ['orders/write', 'orders/all', 'refunds/read', 'all', 'ORDERS/read']) {
      await expectError(token({ grant_type: 'client_credentials', scope }, as), 400, 'invalid_scope', `Scope not granted to this client: ${scope}`);
    }
    await expectError(token({ grant_type: 'client_credentials', scope: 'orders/read orders/write' }, as), 400, 'invalid_scope', 'Scope not granted to this client: orders/write');
    await expectError(token({ grant_type: 'client_credentials', scope: 'orders/read\\' }, as), 400, 'invalid_scope', 'Malformed scope');
  });

  it('the token is refused by the dialects’ own routes (another audience)', async () => {
    const { access_token } = await oauthTokenFor(t.client, { grant_type: 'client_credentials' });
    expect((await mahoGetMe({ client: t.client, headers: bearer(access_token) })).response.status).toBe(401);
    expect((await dummyjsonMe({ client: t.client, headers: bearer(access_token) })).response.status).toBe(401);
  });
});

describe('password and refresh_token', () => {
  it('password: a user token (by username or email) and a refresh token', async () => {
    for (const username of ['emilys', 'EMILY.JOHNSON@x.dummyjson.com']) {
      const { data, response } = await token({ grant_type: 'password', username, password: 'emilyspass' });
      expect(response.status).toBe(200);
      expect(zOAuthTokenResponse.parse(data)).toEqual({
        access_token: expect.any(String),
        token_type: 'Bearer',
        expires_in: 3600,
        refresh_token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      });
      expect(decodeJwt(data!.access_token)).toMatchObject({ aud: 'gatehouse:oauth', sub: 'user_1', client_id: 'demo-client' });
      expect(decodeJwt(data!.access_token).scope).toBeUndefined();
    }
  });

  it('a client without the refresh_token grant gets no refresh token', async () => {
    const c = await newOAuthClient(t, ['password']);
    const { data, response } = await token({ grant_type: 'password', username: 'emilys', password: 'emilyspass' }, { headers: basic(c.id, c.secret) });
    expect(response.status).toBe(200);
    expect(data!.refresh_token).toBeUndefined();
  });

  it('refresh_token rotates; the used token replayed is invalid_grant and revokes the session', async () => {
    const first = await oauthTokenFor(t.client, { grant_type: 'password', username: 'michaelw', password: 'michaelwpass' });
    const { data, response } = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(data!.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(data!.refresh_token).not.toBe(first.refresh_token);
    expect(decodeJwt(data!.access_token)).toMatchObject({ sub: 'user_2', sid: decodeJwt(first.access_token).sid });
    // Access tokens are not killed by a refresh (OAuth semantics): both are live.
    expect((await introspect(t.client, first.access_token)).data).toMatchObject({ active: true });

    await expectError(token({ grant_type: 'refresh_token', refresh_token: first.refresh_token }), 400, 'invalid_grant', 'Invalid or expired refresh token');
    // The replay revoked the whole session: the newest tokens are dead too.
    await expectError(token({ grant_type: 'refresh_token', refresh_token: data!.refresh_token }), 400, 'invalid_grant');
    expect((await introspect(t.client, data!.access_token)).data).toEqual({ active: false });
  });

  it('a refresh token redeemed by another client is invalid_grant and stays usable by its own client', async () => {
    const other = await newOAuthClient(t, ['refresh_token']);
    const first = await oauthTokenFor(t.client, { grant_type: 'password', username: 'emmaj', password: 'emmajpass' });
    await expectError(token({ grant_type: 'refresh_token', refresh_token: first.refresh_token }, { headers: basic(other.id, other.secret) }), 400, 'invalid_grant');
    const { response } = await token({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(response.status).toBe(200);
  });

  it('a dialect’s refresh token is not an OAuth refresh token', async () => {
    const login = await fetch(`${t.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'emilys', password: 'emilyspass' }),
    });
    const { refreshToken } = (await login.json()) as { refreshToken: string };
    await expectError(token({ grant_type: 'refresh_token', refresh_token: refreshToken }), 400, 'invalid_grant');
  });

  it('an expired refresh token is invalid_grant', async () => {
    const first = await oauthTokenFor(t.client, { grant_type: 'password', username: 'jamesd', password: 'jamesdpass' });
    t.clock.advance(t.config.refreshTokenTtlS + 1);
    try {
      await expectError(token({ grant_type: 'refresh_token', refresh_token: first.refresh_token }), 400, 'invalid_grant');
    } finally {
      t.clock.advance(-(t.config.refreshTokenTtlS + 1));
    }
  });

  it('invalid_grant: wrong password and unknown user answer byte for byte alike', async () => {
    const wrong = await token({ grant_type: 'password', username: 'emilys', password: 'nope' });
    const unknown = await token({ grant_type: 'password', username: 'nobody-here', password: 'nope' });
    for (const r of [wrong, unknown]) await expectError(Promise.resolve(r), 400, 'invalid_grant', 'Invalid username or password');
    expect(JSON.stringify(wrong.error)).toBe(JSON.stringify(unknown.error));
  });

  it('invalid_scope: user tokens carry no scopes', async () => {
    await expectError(token({ grant_type: 'password', username: 'emilys', password: 'emilyspass', scope: 'customers/read' }), 400, 'invalid_scope', 'Tokens for users carry no scopes');
    const first = await oauthTokenFor(t.client, { grant_type: 'password', username: 'emilys', password: 'emilyspass' });
    await expectError(token({ grant_type: 'refresh_token', refresh_token: first.refresh_token, scope: 'all' }), 400, 'invalid_scope');
  });

  it('invalid_request: a missing parameter', async () => {
    await expectError(token({ grant_type: 'password', password: 'x' }), 400, 'invalid_request', 'username is required');
    await expectError(token({ grant_type: 'password', username: 'emilys' }), 400, 'invalid_request', 'password is required');
    await expectError(token({ grant_type: 'refresh_token' }), 400, 'invalid_request', 'refresh_token is required');
  });
});

describe('errors every grant shares', () => {
  it('invalid_request: no grant_type, a repeated parameter, or both authentication methods', async () => {
    await expectError(token({ scope: 'all' }), 400, 'invalid_request', /grant_type/);
    const repeated = await fetch(`${t.url}/oauth/token`, {
      method: 'POST',
      headers: { ...basic(DEMO_CLIENT.id, DEMO_CLIENT.secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&grant_type=password',
    });
    await expectError(Promise.resolve({ error: await repeated.clone().json(), response: repeated }), 400, 'invalid_request');
    await expectError(
      token({ grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret' }),
      400,
      'invalid_request',
      'Use one client authentication method, not both',
    );
  });

  it('empty parameters count as absent (RFC 6749 section 3.2)', async () => {
    await expectError(token({ grant_type: '' }), 400, 'invalid_request', 'grant_type is required');
    const { response } = await token({ grant_type: 'client_credentials', client_id: '', client_secret: '' });
    expect(response.status).toBe(200);
  });

  it('unsupported_grant_type', async () => {
    await expectError(token({ grant_type: 'authorization_code', code: 'x' }), 400, 'unsupported_grant_type', 'Supported grant types: client_credentials, password, refresh_token');
  });

  it('unauthorized_client: a grant the client was not given', async () => {
    const ccOnly = await newOAuthClient(t, ['client_credentials']);
    const as = { headers: basic(ccOnly.id, ccOnly.secret) };
    await expectError(token({ grant_type: 'password', username: 'emilys', password: 'emilyspass' }, as), 400, 'unauthorized_client', 'This client may not use the password grant');
    await expectError(token({ grant_type: 'refresh_token', refresh_token: 'x' }, as), 400, 'unauthorized_client');
    const pwOnly = await newOAuthClient(t, ['password']);
    await expectError(token({ grant_type: 'client_credentials' }, { headers: basic(pwOnly.id, pwOnly.secret) }), 400, 'unauthorized_client');
  });

  it('invalid_client (401, Basic challenge): none, wrong, unknown, malformed, an API user, an inactive client', async () => {
    const cc = { grant_type: 'client_credentials' };
    await expectError(token(cc, {}), 401, 'invalid_client', 'Client authentication failed');
    await expectError(token(cc, { headers: basic('demo-client', 'wrong') }), 401, 'invalid_client');
    await expectError(token(cc, { headers: basic('no-such-client', 'demo-client-secret') }), 401, 'invalid_client');
    await expectError(token(cc, { headers: { Authorization: 'Basic !!!' } }), 401, 'invalid_client');
    await expectError(token(cc, { headers: { Authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` } }), 401, 'invalid_client');
    await expectError(token(cc, { headers: { Authorization: `Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}` } }), 401, 'invalid_client');
    await expectError(token({ ...cc, client_id: 'demo-client' }, {}), 401, 'invalid_client');
    await expectError(token(cc, { headers: basic('demo-api', 'demo-api-key') }), 401, 'invalid_client');
    const c = await newOAuthClient(t, ['client_credentials']);
    await t.gatehouse.services.servicePrincipals.setActive(c.principal.id, false);
    await expectError(token(cc, { headers: basic(c.id, c.secret) }), 401, 'invalid_client');
    // A Bearer header is not client authentication: the request simply has none.
    await expectError(token(cc, { headers: { Authorization: 'Bearer abc' } }), 401, 'invalid_client');
  });

  it('415 for JSON, 413 for a huge form, 404 and 405 — all in the OAuth format', async () => {
    await expectError(
      token({ grant_type: 'client_credentials' }, { headers: { ...basic(DEMO_CLIENT.id, DEMO_CLIENT.secret), 'Content-Type': 'application/json' }, bodySerializer: JSON.stringify }),
      415,
      'invalid_request',
      'The body must be application/x-www-form-urlencoded',
    );
    await expectError(token({ grant_type: 'client_credentials', scope: 'x'.repeat(40_000) }), 413, 'invalid_request', 'Request body is too large');
    const empty = await fetch(`${t.url}/oauth/token`, { method: 'POST', headers: basic(DEMO_CLIENT.id, DEMO_CLIENT.secret) });
    await expectError(Promise.resolve({ error: await empty.clone().json(), response: empty }), 400, 'invalid_request');
    const missing = await fetch(`${t.url}/oauth/nothing`);
    await expectError(Promise.resolve({ error: await missing.clone().json(), response: missing }), 404, 'invalid_request', 'Not found');
    const get = await fetch(`${t.url}/oauth/token`);
    const r = await expectError(Promise.resolve({ error: await get.clone().json(), response: get }), 405, 'invalid_request', 'Method not allowed');
    expect(r.headers.get('allow')).toBe('POST');
  });
});

describe('rate limits', () => {
  it('failed client authentications lock a client out only from the network they came from', async () => {
    const limited = await startTestServer({ RATE_LIMITS: 'on', TRUST_PROXY: 'true', RATE_LIMIT_LOGIN_IP: '100/60', RATE_LIMIT_LOGIN_ACCOUNT: '2/60' });
    try {
      const from = (ip: string, secret: string) =>
        oauthToken({ client: limited.client, body: { grant_type: 'client_credentials' }, headers: { ...basic('demo-client', secret), 'X-Forwarded-For': ip } });
      expect((await from('203.0.113.7', 'wrong')).response.status).toBe(401);
      expect((await from('203.0.113.7', 'wrong')).response.status).toBe(401);
      await expectError(from('203.0.113.7', 'demo-client-secret'), 429, 'temporarily_unavailable');
      expect((await from('198.51.100.9', 'demo-client-secret')).response.status).toBe(200);
      // An IPv6 client counts by its /64, since it can pick any address in it.
      expect((await from('2001:db8:5:6::1', 'wrong')).response.status).toBe(401);
      expect((await from('2001:db8:5:6::2', 'wrong')).response.status).toBe(401);
      await expectError(from('2001:db8:5:6:a:b:c:d', 'demo-client-secret'), 429, 'temporarily_unavailable');
      expect((await from('2001:db8:5:7::1', 'demo-client-secret')).response.status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('refresh_token grants count as refreshes per IP, not as logins', async () => {
    // Two login attempts per IP: were refreshes (or their client authentications) counted as
    // logins, the second refresh would already fail.
    const limited = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_IP: '2/60', RATE_LIMIT_REFRESH_IP: '5/60' });
    try {
      let current = (await oauthTokenFor(limited.client, { grant_type: 'password', username: 'emilys', password: 'emilyspass' })).refresh_token!;
      for (let i = 0; i < 5; i++) current = (await oauthTokenFor(limited.client, { grant_type: 'refresh_token', refresh_token: current })).refresh_token!;
      const r = await expectError(
        oauthToken({ client: limited.client, body: { grant_type: 'refresh_token', refresh_token: current }, headers: basic(DEMO_CLIENT.id, DEMO_CLIENT.secret) }),
        429,
        'temporarily_unavailable',
      );
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});
