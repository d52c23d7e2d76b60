// Every known way to forge, bend or smuggle a JWT, against every route of every dialect that
// accepts an access token, and against introspection. Each attack must get that route's
// normal authentication error (introspection: {"active": false}), never a 5xx, and never
// success. Sources of the list:
//  - RFC 8725, JSON Web Token Best Current Practices: 2.1 (alg none), 2.2/3.1 (algorithm
//    verification), 2.7 (key confusion, HS256 with a public key), 2.8/3.9/3.11 (wrong
//    audience, issuer, substitution between token kinds and services), 3.10 (time claims),
//    3.12 (explicit typing, `typ`);
//  - the jwt_tool playbook (github.com/ticarpi/jwt_tool/wiki): alg none variants, signature
//    stripping, key confusion, embedded jwk (CVE-2018-0114), jku/x5u spoofing, kid path
//    traversal and injection, claim tampering without re-signing.
// Each route is also shown to accept its genuine token, so a refusal here is the attack's doing.
import { createHmac, createPublicKey, randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, exportJWK, generateKeyPair, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cocartLoginAs, UA } from '../helpers/cocart.js';
import { loginAs } from '../helpers/dummyjson.js';
import { startTestServer, type TestServer } from '../helpers/gatehouse.js';
import { customerToken, demoClientToken } from '../helpers/maho.js';
import { DEMO_CLIENT, basic, oauthTokenFor } from '../helpers/oauth.js';

let t: TestServer;
let publicJwk: JWK;

beforeAll(async () => {
  t = await startTestServer();
  const jwks = (await (await fetch(`${t.url}/.well-known/jwks.json`)).json()) as { keys: JWK[] };
  publicJwk = jwks.keys[0]!;
});
afterAll(() => t.close());

type Dialect = 'dummyjson' | 'cocart' | 'maho' | 'oauth';

/** One genuine token of each kind, freshly issued. */
interface Tokens {
  dummyjson: { access: string; refresh: string };
  cocart: { access: string; refresh: string };
  maho: { customer: string; service: string };
  oauth: { access: string; refresh: string };
}

async function freshTokens(username = 'emilys'): Promise<Tokens> {
  const dj = await loginAs(t.client, username);
  const cc = await cocartLoginAs(t.client, username);
  const pw = await oauthTokenFor(t.client, { grant_type: 'password', username, password: `${username}pass` });
  return {
    dummyjson: { access: dj.accessToken, refresh: dj.refreshToken },
    cocart: { access: cc.extras.jwt_token, refresh: cc.extras.jwt_refresh },
    maho: { customer: await customerToken(t.client, username), service: await demoClientToken(t.client) },
    oauth: { access: pw.access_token, refresh: pw.refresh_token! },
  };
}

interface Route {
  name: string;
  dialect: Dialect;
  /** The genuine access token this route accepts. */
  token: (k: Tokens) => string;
  /** Whether a successful call uses the token up (logout, Maho renewal): checked last. */
  consumes?: boolean;
  send: (token: string) => Promise<Response>;
}

const post = (path: string, headers: Record<string, string>, body?: string) =>
  fetch(`${t.url}${path}`, { method: 'POST', headers: body ? { ...headers, 'content-type': 'application/x-www-form-urlencoded' } : headers, body });
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

const ROUTES: Route[] = [
  { name: 'GET /auth/me (Bearer)', dialect: 'dummyjson', token: (k) => k.dummyjson.access, send: (tk) => fetch(`${t.url}/auth/me`, { headers: auth(tk) }) },
  {
    name: 'GET /auth/me (cookie)',
    dialect: 'dummyjson',
    token: (k) => k.dummyjson.access,
    send: (tk) => fetch(`${t.url}/auth/me`, { headers: { cookie: `accessToken=${encodeURIComponent(tk)}` } }),
  },
  { name: 'POST /auth/logout', dialect: 'dummyjson', token: (k) => k.dummyjson.access, consumes: true, send: (tk) => post('/auth/logout', auth(tk)) },
  {
    name: 'POST /wp-json/cocart/jwt/validate-token',
    dialect: 'cocart',
    token: (k) => k.cocart.access,
    send: (tk) => post('/wp-json/cocart/jwt/validate-token', { ...auth(tk), 'user-agent': UA }),
  },
  {
    name: 'POST /wp-json/cocart/v2/logout',
    dialect: 'cocart',
    token: (k) => k.cocart.access,
    consumes: true,
    send: (tk) => post('/wp-json/cocart/v2/logout', { ...auth(tk), 'user-agent': UA }),
  },
  { name: 'GET /api/rest/v2/customers/me', dialect: 'maho', token: (k) => k.maho.customer, send: (tk) => fetch(`${t.url}/api/rest/v2/customers/me`, { headers: auth(tk) }) },
  { name: 'GET /api/rest/v2/customers', dialect: 'maho', token: (k) => k.maho.service, send: (tk) => fetch(`${t.url}/api/rest/v2/customers`, { headers: auth(tk) }) },
  { name: 'GET /api/rest/v2/customers/{id}', dialect: 'maho', token: (k) => k.maho.service, send: (tk) => fetch(`${t.url}/api/rest/v2/customers/1`, { headers: auth(tk) }) },
  { name: 'POST /api/rest/v2/auth/refresh', dialect: 'maho', token: (k) => k.maho.customer, consumes: true, send: (tk) => post('/api/rest/v2/auth/refresh', auth(tk)) },
  { name: 'POST /api/rest/v2/auth/logout', dialect: 'maho', token: (k) => k.maho.customer, consumes: true, send: (tk) => post('/api/rest/v2/auth/logout', auth(tk)) },
  {
    name: 'POST /oauth/introspect',
    dialect: 'oauth',
    token: (k) => k.oauth.access,
    send: (tk) => post('/oauth/introspect', basic(DEMO_CLIENT.id, DEMO_CLIENT.secret), new URLSearchParams({ token: tk }).toString()),
  },
];

/** The route's normal answer to a bad token; fails the test on anything else. */
async function expectRefused(route: Route, response: Response, attack: string): Promise<void> {
  const where = `${route.name} ← ${attack}`;
  const body = await response.text();
  expect(response.status, `${where}: ${body}`).toBeLessThan(500);
  const json = JSON.parse(body) as Record<string, unknown>;
  switch (route.dialect) {
    case 'dummyjson':
      expect(response.status, where).toBe(401);
      expect(['Invalid/Expired Token!', 'Token Expired!', 'Access Token is required'], where).toContain(json.message);
      expect(Object.keys(json), where).toEqual(['message']);
      break;
    case 'cocart':
      expect(response.status, where).toBe(401);
      expect(json, where).toEqual({ code: 'cocart_authentication_error', message: 'Authentication failed.', data: { status: 401 } });
      break;
    case 'maho':
      expect(response.status, where).toBe(401);
      expect(['Invalid or expired token', 'Authentication required'], where).toContain(json.message);
      expect(json, where).toMatchObject({ error: 'unauthorized', code: 401 });
      expect(response.headers.get('www-authenticate'), where).toMatch(/^Bearer realm="maho"/);
      break;
    case 'oauth':
      // A token over the body limit never gets as far as introspection: 413 in the OAuth format.
      if (attack === '100 KB token') {
        expect(response.status, where).toBe(413);
        expect(json, where).toEqual({ error: 'invalid_request', error_description: 'Request body is too large' });
        break;
      }
      if (attack === 'empty token') {
        expect(response.status, where).toBe(400);
        expect(json, where).toEqual({ error: 'invalid_request', error_description: 'token is required' });
        break;
      }
      expect(response.status, where).toBe(200);
      expect(json, where).toEqual({ active: false });
      break;
  }
}

async function expectAccepted(route: Route, token: string): Promise<void> {
  const response = await route.send(token);
  const body = await response.text();
  expect(response.status, `${route.name} with its genuine token: ${body}`).toBe(200);
  if (route.dialect === 'oauth') expect(JSON.parse(body)).toMatchObject({ active: true });
}

// --- building attack tokens -------------------------------------------------------------

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const parts = (token: string) => token.split('.') as [string, string, string];

/**
 * Signs with the server's own current key, by hand (WebCrypto ECDSA gives the raw r||s a JWS
 * needs), so that any header or payload can be made: only the attacked aspect is wrong.
 */
async function signRaw(header: Record<string, unknown>, payload: Buffer): Promise<string> {
  const { key } = t.gatehouse.services.keys.signingKey();
  const input = `${b64(JSON.stringify(header))}.${payload.toString('base64url')}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key, Buffer.from(input));
  return `${input}.${Buffer.from(sig).toString('base64url')}`;
}

const signReal = (header: Record<string, unknown>, payload: JWTPayload) => signRaw(header, Buffer.from(JSON.stringify(payload)));

const nowS = () => Math.floor(t.clock.now() / 1000);

type Attack = [name: string, make: (genuine: string) => Promise<string> | string];

function attacks(): Attack[] {
  const leeway = t.config.clockToleranceS;
  const header = (tk: string) => decodeProtectedHeader(tk) as Record<string, unknown>;
  const claims = (tk: string) => decodeJwt(tk);
  const hs256 = (tk: string, secret: string | Buffer) => {
    const h = b64({ ...header(tk), alg: 'HS256' });
    const [, p] = parts(tk);
    return `${h}.${p}.${createHmac('sha256', secret).update(`${h}.${p}`).digest('base64url')}`;
  };
  const pem = () => createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'pem' }) as string;
  const der = () => createPublicKey({ key: publicJwk as never, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  const attackerSigned = async (tk: string, extraHeader: (jwk: JWK) => Record<string, unknown>) => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = await exportJWK(publicKey);
    return new SignJWT(claims(tk)).setProtectedHeader({ ...header(tk), ...extraHeader(jwk), alg: 'ES256' } as never).sign(privateKey);
  };
  const list: Attack[] = [];
  for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
    list.push([`alg ${alg}, no signature`, (tk) => `${b64({ ...header(tk), alg })}.${parts(tk)[1]}.`]);
    list.push([`alg ${alg}, original signature`, (tk) => `${b64({ ...header(tk), alg })}.${parts(tk)[1]}.${parts(tk)[2]}`]);
  }
  list.push(
    ['HS256 keyed with the public key (PEM)', (tk) => hs256(tk, pem())],
    ['HS256 keyed with the public key (PEM without trailing newline)', (tk) => hs256(tk, pem().trim())],
    ['HS256 keyed with the public key (DER)', (tk) => hs256(tk, der())],
    ['HS256 keyed with the public JWK as JSON', (tk) => hs256(tk, JSON.stringify(publicJwk))],
    ['signature stripped (two parts)', (tk) => `${parts(tk)[0]}.${parts(tk)[1]}`],
    ['signature stripped (empty third part)', (tk) => `${parts(tk)[0]}.${parts(tk)[1]}.`],
    ['signature truncated', (tk) => tk.slice(0, -10)],
    [
      'signature with one bit flipped',
      (tk) => {
        const sig = Buffer.from(parts(tk)[2], 'base64url');
        sig[sig.length >> 1]! ^= 0x01;
        return `${parts(tk)[0]}.${parts(tk)[1]}.${sig.toString('base64url')}`;
      },
    ],
    [
      // The same signature bytes, spelled differently: decoders that ignore the last
      // character's spare bits (jose's does) would accept it.
      'signature re-spelled: spare bits of its last character set',
      (tk) => {
        const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
        const [h, p, s] = parts(tk);
        return `${h}.${p}.${s.slice(0, -1)}${alphabet[alphabet.indexOf(s.at(-1)!) | 0b0101]}`;
      },
    ],
    // (A Bearer header with a space inside is refused by its own parsing first; the cookie,
    // form and introspection routes take the token as it is, and show the check.)
    ['signature re-spelled: with a space inside', (tk) => `${parts(tk)[0]}.${parts(tk)[1]}.${parts(tk)[2].slice(0, 10)} ${parts(tk)[2].slice(10)}`],
    ['signature re-spelled: with base64 padding', (tk) => `${tk}==`],
    ['embedded jwk header (CVE-2018-0114), attacker key', (tk) => attackerSigned(tk, (jwk) => ({ jwk }))],
    ['embedded jwk header with the real kid, attacker key', (tk) => attackerSigned(tk, (jwk) => ({ jwk, kid: header(tk).kid }))],
    ['jku header pointing elsewhere, attacker key', (tk) => attackerSigned(tk, () => ({ jku: 'http://127.0.0.1:9/jwks.json' }))],
    ['x5u header pointing elsewhere, attacker key', (tk) => attackerSigned(tk, () => ({ x5u: 'http://127.0.0.1:9/cert.pem' }))],
    ['no kid, attacker key', (tk) => attackerSigned(tk, () => ({ kid: undefined }))],
    ['kid unknown (real key)', (tk) => signReal({ ...header(tk), kid: randomBytes(16).toString('hex') }, claims(tk))],
    ['kid empty (real key)', (tk) => signReal({ ...header(tk), kid: '' }, claims(tk))],
    ['kid absent (real key)', (tk) => signReal({ ...header(tk), kid: undefined }, claims(tk))],
    ['kid path traversal ../../dev/null (real key)', (tk) => signReal({ ...header(tk), kid: '../../dev/null' }, claims(tk))],
    ["kid SQL text ' OR '1'='1 (real key)", (tk) => signReal({ ...header(tk), kid: "x' OR '1'='1'; DROP TABLE signing_keys; --" }, claims(tk))],
    ['kid 10,000 characters (real key)', (tk) => signReal({ ...header(tk), kid: 'k'.repeat(10_000) }, claims(tk))],
    ['kid not a string (real key)', (tk) => signReal({ ...header(tk), kid: 42 }, claims(tk))],
    ['exp in the past beyond the leeway (real key)', (tk) => signReal(header(tk), { ...claims(tk), iat: nowS() - 7200, nbf: nowS() - 7200, exp: nowS() - leeway - 5 })],
    ['nbf in the future beyond the leeway (real key)', (tk) => signReal(header(tk), { ...claims(tk), nbf: nowS() + leeway + 60 })],
    ['iat in the future beyond the leeway (real key)', (tk) => signReal(header(tk), { ...claims(tk), iat: nowS() + leeway + 60, nbf: nowS() })],
    ['exp missing (real key)', (tk) => signReal(header(tk), { ...claims(tk), exp: undefined })],
    ['exp not a number (real key)', (tk) => signReal(header(tk), { ...claims(tk), exp: 'tomorrow' as never })],
    ['wrong iss (real key)', (tk) => signReal(header(tk), { ...claims(tk), iss: 'https://evil.example' })],
    ['wrong aud (real key)', (tk) => signReal(header(tk), { ...claims(tk), aud: 'gatehouse:elsewhere' })],
    ['aud as an array with the right audience and another (real key)', (tk) => signReal(header(tk), { ...claims(tk), aud: [claims(tk).aud as string, 'other'] })],
    ['typ JWT instead of at+jwt (real key)', (tk) => signReal({ ...header(tk), typ: 'JWT' }, claims(tk))],
    ['typ absent (real key)', (tk) => signReal({ ...header(tk), typ: undefined }, claims(tk))],
    ['sid of another session (real key)', (tk) => signReal(header(tk), { ...claims(tk), sid: 'not-a-session' })],
    ['gen moved ahead (real key)', (tk) => signReal(header(tk), { ...claims(tk), gen: (claims(tk).gen as number) + 1 })],
    ['sub of another user (real key)', (tk) => signReal(header(tk), { ...claims(tk), sub: String(claims(tk).sub).replace(/\d+$/, '2') })],
    ['sub changed, not re-signed', (tk) => `${parts(tk)[0]}.${b64({ ...claims(tk), sub: String(claims(tk).sub).replace(/\d+$/, '2') })}.${parts(tk)[2]}`],
    ['exp extended, not re-signed', (tk) => `${parts(tk)[0]}.${b64({ ...claims(tk), exp: nowS() + 10 * 365 * 86400 })}.${parts(tk)[2]}`],
    ['payload a JSON array (real key)', (tk) => signRaw(header(tk), Buffer.from('[1,2,3]'))],
    ['payload a JSON string (real key)', (tk) => signRaw(header(tk), Buffer.from('"hello"'))],
    ['payload not JSON (real key)', (tk) => signRaw(header(tk), Buffer.from('not json'))],
    ['header not JSON', (tk) => `${b64('{not json')}.${parts(tk)[1]}.${parts(tk)[2]}`],
    ['header a JSON array', (tk) => `${b64([1])}.${parts(tk)[1]}.${parts(tk)[2]}`],
    ['crit header with an unknown extension (real key)', (tk) => signReal({ ...header(tk), crit: ['exp'], exp: 1 }, claims(tk))],
    ['b64:false unencoded payload (real key)', (tk) => signReal({ ...header(tk), b64: false, crit: ['b64'] }, claims(tk))],
    ['JWE-shaped (five parts)', (tk) => `${tk}.AAAA.BBBB`],
    ['100 KB token', () => `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${'A'.repeat(100_000)}.${'B'.repeat(86)}`],
    ['non-base64url garbage', () => '!!!.@@@.###'],
    ['garbage with spaces', () => 'a b c'],
    ['bytes outside ASCII', () => 'ÿþý.\u0080\u00ff.éé'],
    ['empty token', () => ''],
    ['only dots', () => '..'],
  );
  return list;
}

describe.each(ROUTES)('$name', (route) => {
  it('refuses every forged, bent or malformed token, and accepts the genuine one', async () => {
    const tokens = await freshTokens();
    const genuine = route.token(tokens);
    if (!route.consumes) await expectAccepted(route, genuine);
    for (const [name, make] of attacks()) {
      const forged = await make(genuine);
      expect(forged, name).not.toBe(genuine);
      await expectRefused(route, await route.send(forged), name);
    }
    // Still live after all of that: each refusal above was the attack's, not a dead session's.
    await expectAccepted(route, genuine);
  });

  it('refuses the other kind of token and every other dialect’s genuine tokens', async () => {
    const k = await freshTokens();
    const others: Array<[string, string]> = [
      ['DummyJSON refresh token as an access token', k.dummyjson.refresh],
      ['CoCart refresh token as an access token', k.cocart.refresh],
      ['OAuth refresh token as an access token', k.oauth.refresh],
    ];
    if (route.dialect !== 'dummyjson') others.push(['DummyJSON access token', k.dummyjson.access]);
    if (route.dialect !== 'cocart') others.push(['CoCart access token', k.cocart.access]);
    if (route.dialect !== 'maho') others.push(['Maho customer token', k.maho.customer], ['Maho service token', k.maho.service]);
    if (route.dialect !== 'oauth') others.push(['OAuth access token', k.oauth.access]);
    // Introspection answers for every dialect: only refresh tokens are its "other kind" (and they are live, so skip them there).
    for (const [name, token] of route.dialect === 'oauth' ? [] : others) await expectRefused(route, await route.send(token), name);
  });

  it('refuses tokens of a revoked session, a deactivated user and a deleted user', async () => {
    const k = await freshTokens();
    const revoked = route.token(k);
    await t.gatehouse.services.sessions.revoke(decodeJwt(revoked).sid as string, 'admin');
    await expectRefused(route, await route.send(revoked), 'revoked session');

    // A user of their own, so that the other tests' users stay untouched.
    const email = `victim-${randomBytes(4).toString('hex')}@example.test`;
    const created = await t.gatehouse.services.accounts.register({ email, password: 'Victim-pass-2026!', firstName: 'V', lastName: 'Ictim' }, { ip: null, userAgent: null });
    const tokensOf = async () => {
      if (route.dialect === 'maho' && route.token(k) === k.maho.service) return route.token(k); // service routes: principal tested below
      const r = await fetch(`${t.url}/api/rest/v2/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'Victim-pass-2026!' }),
      });
      const maho = ((await r.json()) as { token: string }).token;
      const dj = await fetch(`${t.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: created.username, password: 'Victim-pass-2026!' }) });
      const dummyjson = ((await dj.json()) as { accessToken: string }).accessToken;
      const cc = await fetch(`${t.url}/wp-json/cocart/v2/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': UA }, body: JSON.stringify({ username: email, password: 'Victim-pass-2026!' }) });
      const cocart = ((await cc.json()) as { extras: { jwt_token: string } }).extras.jwt_token;
      const oauth = (await oauthTokenFor(t.client, { grant_type: 'password', username: email, password: 'Victim-pass-2026!' })).access_token;
      return { dummyjson, cocart, maho, oauth }[route.dialect];
    };
    if (route.token(k) === k.maho.service) {
      const { principal, secret } = await t.gatehouse.services.servicePrincipals.create('api_client', { permissions: ['all'] });
      const r = await fetch(`${t.url}/api/rest/v2/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ grant_type: 'client_credentials', client_id: principal.name, client_secret: secret }),
      });
      const token = ((await r.json()) as { token: string }).token;
      await t.gatehouse.services.servicePrincipals.setActive(principal.id, false);
      await expectRefused(route, await route.send(token), 'deactivated API client');
      return;
    }
    const beforeDeactivation = await tokensOf();
    await t.gatehouse.services.accounts.setActive(created.id, false);
    await expectRefused(route, await route.send(beforeDeactivation), 'deactivated user');
    await t.gatehouse.services.accounts.setActive(created.id, true);
    const beforeDeletion = await tokensOf();
    await t.gatehouse.services.accounts.delete(created.id);
    await expectRefused(route, await route.send(beforeDeletion), 'deleted user');
  });
});
