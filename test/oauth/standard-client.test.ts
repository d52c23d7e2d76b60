// Gatehouse seen by independent, standard tools: oauth4webapi (an OAuth 2 client library that
// checks every response against the RFCs) discovers the server, gets tokens by
// client_credentials and password, refreshes, introspects and revokes; jose's
// createRemoteJWKSet verifies access tokens against the served JWKS, as any resource server would.
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/gatehouse.js';

let t: TestServer;
let issuer: URL;
let as: oauth.AuthorizationServer;
const client: oauth.Client = { client_id: 'demo-client' };
const basicAuth = oauth.ClientSecretBasic('demo-client-secret');
const postAuth = oauth.ClientSecretPost('demo-client-secret');
const insecure = { [oauth.allowInsecureRequests]: true }; // plain http on 127.0.0.1 only

beforeAll(async () => {
  // The issuer must be the very URL clients discover it at (RFC 8414 section 3.3). Without
  // PUBLIC_URL it is the server's own address, with the port the system chose for PORT=0
  // (the helper's default), not :0.
  t = await startTestServer({ PUBLIC_URL: '' });
  issuer = new URL(t.url);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
});
afterAll(() => t.close());

/** How a resource server in any language would check a token: the served JWKS, pinned alg, iss, aud, typ. */
const verifyAtResourceServer = (token: string, jwks = createRemoteJWKSet(new URL(as.jwks_uri!))) =>
  jwtVerify(token, jwks, {
    algorithms: ['ES256'],
    issuer: as.issuer,
    audience: 'gatehouse:oauth',
    typ: 'at+jwt',
    currentDate: new Date(t.clock.now()),
  });

describe('an independent OAuth 2 client (oauth4webapi)', () => {
  it('discovers the metadata', () => {
    expect(t.config).toMatchObject({ port: 0, publicUrlFromEnv: false });
    expect(t.url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*$/);
    expect(as.issuer).toBe(t.url);
    expect(as.token_endpoint).toBe(`${t.url}/oauth/token`);
    expect(as.jwks_uri).toBe(`${t.url}/.well-known/jwks.json`);
    expect(as.grant_types_supported).toEqual(['client_credentials', 'password', 'refresh_token']);
  });

  it('client_credentials with client_secret_basic and client_secret_post; RFC 9068 validation', async () => {
    for (const auth of [basicAuth, postAuth]) {
      const response = await oauth.clientCredentialsGrantRequest(as, client, auth, { scope: 'customers/read' }, insecure);
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 3600, scope: 'customers/read' });
      const request = new Request('https://rs.example.test/', { headers: { authorization: `Bearer ${tokens.access_token}` } });
      const claims = await oauth.validateJwtAccessToken(as, request, 'gatehouse:oauth', insecure);
      expect(claims).toMatchObject({ client_id: 'demo-client', scope: 'customers/read', sub: 'client_1', iss: t.url });
    }
  });

  it('password, refresh, introspect, revoke', async () => {
    const pw = await oauth.genericTokenEndpointRequest(as, client, basicAuth, 'password', { username: 'emilys', password: 'emilyspass' }, insecure);
    const first = await oauth.processGenericTokenEndpointResponse(as, client, pw);
    expect(first.refresh_token).toBeTypeOf('string');
    expect((await verifyAtResourceServer(first.access_token)).payload).toMatchObject({ sub: 'user_1', client_id: 'demo-client' });

    const refreshed = await oauth.processRefreshTokenResponse(
      as,
      client,
      await oauth.refreshTokenGrantRequest(as, client, basicAuth, first.refresh_token!, insecure),
    );
    expect(refreshed.refresh_token).not.toBe(first.refresh_token);

    const live = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, basicAuth, refreshed.access_token, insecure));
    expect(live).toMatchObject({ active: true, client_id: 'demo-client', username: 'emilys', token_type: 'Bearer' });

    await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, basicAuth, refreshed.refresh_token!, insecure));
    const dead = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, basicAuth, refreshed.access_token, insecure));
    expect(dead).toEqual({ active: false });

    // The replayed first refresh token is refused in the RFC 6749 shape the library understands.
    const replay = await oauth.refreshTokenGrantRequest(as, client, basicAuth, first.refresh_token!, insecure);
    await expect(oauth.processRefreshTokenResponse(as, client, replay)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
  });

  it('a wrong secret surfaces as invalid_client with a Basic challenge', async () => {
    const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic('wrong'), {}, insecure);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="gatehouse"');
    const failure = await oauth.processClientCredentialsResponse(as, client, response.clone()).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(oauth.WWWAuthenticateChallengeError);
    expect(failure).toMatchObject({ status: 401, cause: [{ scheme: 'basic', parameters: { realm: 'gatehouse' } }] });
    expect(await response.json()).toEqual({ error: 'invalid_client', error_description: 'Client authentication failed' });
  });

  it('verifies access tokens with the served JWKS before, during and after a key rotation', async () => {
    const token = async () =>
      (await oauth.processClientCredentialsResponse(as, client, await oauth.clientCredentialsGrantRequest(as, client, basicAuth, {}, insecure))).access_token;
    const keysServed = async () => ((await (await fetch(as.jwks_uri!)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid).sort();
    const before = await token();
    const oldKid = decodeProtectedHeader(before).kid!;
    await verifyAtResourceServer(before);

    // The rotation publishes the new key at once and signs with it only after the delay,
    // so a resource server's cached JWKS (max-age 300 s) already holds it by then.
    const rotation = await t.gatehouse.services.keys.rotate();
    expect(rotation.activatesAt.getTime() - t.clock.now()).toBe(t.config.keyRotationDelayS * 1000);
    expect(await keysServed()).toEqual([oldKid, rotation.kid].sort());
    const cachedByResourceServer = createRemoteJWKSet(new URL(as.jwks_uri!));
    const during = await token();
    expect(decodeProtectedHeader(during).kid).toBe(oldKid);
    await verifyAtResourceServer(during, cachedByResourceServer);

    t.clock.advance(t.config.keyRotationDelayS + 1);
    const after = await token();
    expect(decodeProtectedHeader(after).kid).toBe(rotation.kid);
    // Same JWKS copy, no refetch: the new key was in it before it signed anything.
    await verifyAtResourceServer(after, cachedByResourceServer);
    await verifyAtResourceServer(during, cachedByResourceServer);
    expect(await keysServed()).toEqual([oldKid, rotation.kid].sort());

    // Once every token the old key signed has expired, it leaves the JWKS and verifies nothing.
    const retireAfter = rotation.retiring.find((k) => k.kid === oldKid)!.retireAfter!.getTime();
    t.clock.advance((retireAfter - t.clock.now()) / 1000 + 1);
    expect(await keysServed()).toEqual([rotation.kid]);
    const fresh = await token();
    await verifyAtResourceServer(fresh, createRemoteJWKSet(new URL(as.jwks_uri!)));
    await expect(verifyAtResourceServer(during, createRemoteJWKSet(new URL(as.jwks_uri!)))).rejects.toMatchObject({ code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });
});
