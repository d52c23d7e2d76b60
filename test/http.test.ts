// Behaviour shared by every path: unknown paths and methods, CORS, security headers, and the
// system endpoints (/healthz, /openapi.json, /.well-known/jwks.json).
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getHealth, getJwks, getOpenApiDocument } from '../generated/client/sdk.gen.js';
import { zGetJwksResponse, zHealth } from '../generated/client/zod.gen.js';
import { ALLOWED_ORIGIN, startTestServer, type TestServer } from './helpers/gatehouse.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('unknown paths and methods', () => {
  it('answers 404 {message} under a dialect prefix and elsewhere', async () => {
    for (const path of ['/auth/nope', '/nope', '/']) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.status, path).toBe(404);
      expect(await response.json()).toEqual({ message: 'Not found' });
    }
  });

  it('matches paths as the contract writes them: another letter case is a 404, never a 5xx', async () => {
    // Express matches routes case-insensitively by default; the contract's paths are exact.
    for (const [method, path] of [
      ['GET', '/AUTH/ME'],
      ['GET', '/Auth/me'],
      ['POST', '/auth/LOGIN'],
      ['POST', '/wp-json/CoCart/v2/login'],
      ['POST', '/API/rest/v2/auth/token'],
      ['POST', '/OAuth/token'],
      ['GET', '/HEALTHZ'],
    ] as const) {
      const response = await fetch(`${t.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
      expect(response.status, path).toBe(404);
      expect(await response.json(), path).toEqual({ message: 'Not found' });
    }
  });

  it('answers 405 {message} with Allow for a wrong method', async () => {
    const response = await fetch(`${t.url}/auth/login`, { method: 'GET' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    expect(await response.json()).toEqual({ message: 'Method not allowed' });
    const del = await fetch(`${t.url}/auth/me`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
  });
});

describe('request targets in absolute form (RFC 9112 §3.2.2: a server must accept them)', () => {
  /** A request whose target is `target` as written (node:http sends a path that is a URL as it is). */
  const sendTo = (method: string, target: string, body?: string) =>
    new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
      const { hostname, port } = new URL(t.url);
      const req = request({ hostname, port, method, path: target, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });

  it('are answered as their path and query would be', async () => {
    const login = await sendTo('POST', 'http://gatehouse.test/auth/login', JSON.stringify({ username: 'emilys', password: 'emilyspass' }));
    expect(login.status).toBe(200);
    expect(JSON.parse(login.body)).toMatchObject({ id: 1, username: 'emilys', accessToken: expect.any(String) });
    const health = await sendTo('GET', 'HTTP://GATEHOUSE.test:8080/healthz?probe=1');
    expect(health.status).toBe(200);
    expect(zHealth.parse(JSON.parse(health.body))).toMatchObject({ status: 'ok' });
    // As in origin form: the path as sent, matched exactly.
    for (const target of ['http://gatehouse.test', 'http://gatehouse.test?x=1', 'http://gatehouse.test/AUTH/ME', 'https://gatehouse.test/auth/nope']) {
      const answer = await sendTo('GET', target);
      expect(answer.status, target).toBe(404);
      expect(JSON.parse(answer.body), target).toEqual({ message: 'Not found' });
    }
  });

  it('without a host, with userinfo (RFC 9110 §4.2.4: a disguised host) or of another scheme, are refused with 400', async () => {
    for (const target of ['http:///healthz', 'http://@/healthz', 'http://user@gatehouse.test/healthz', 'ftp://gatehouse.test/healthz', 'healthz?x=/']) {
      const answer = await sendTo('GET', target);
      expect(answer.status, target).toBe(400);
      expect(answer.type, target).toBe('application/json; charset=utf-8');
      expect(JSON.parse(answer.body), target).toEqual({ message: 'Bad Request' });
    }
    expect((await getHealth({ client: t.client })).response.status).toBe(200);
  });
});

describe('HEAD', () => {
  /** The answer to GET and to HEAD of one path: same status and header fields, and HEAD has no body. */
  async function both(path: string, headers: Record<string, string> = {}) {
    const get = await fetch(`${t.url}${path}`, { headers });
    const getBody = await get.arrayBuffer();
    const head = await fetch(`${t.url}${path}`, { method: 'HEAD', headers });
    expect((await head.arrayBuffer()).byteLength, `${path}: HEAD has no body`).toBe(0);
    // Not compared: what differs between any two answers, and the hop-by-hop fields (fetch asks
    // for the connection to close after a HEAD).
    const fields = (r: Response) => [...r.headers.entries()].filter(([name]) => !['date', 'x-request-id', 'connection', 'keep-alive'].includes(name));
    expect(fields(head), path).toEqual(fields(get));
    return { status: head.status, getBody, head };
  }

  it('answers every GET operation with the same status and header fields, and no body', async () => {
    const token = ((await (await fetch(`${t.url}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'emilys', password: 'emilyspass' }) })).json()) as { accessToken: string }).accessToken;
    expect((await both('/healthz')).status).toBe(200);
    expect((await both('/.well-known/jwks.json')).status).toBe(200);
    expect((await both('/.well-known/oauth-authorization-server')).status).toBe(200);
    const me = await both('/auth/me', { Authorization: `Bearer ${token}` });
    expect(me.status).toBe(200);
    expect(Number(me.head.headers.get('content-length'))).toBe(me.getBody.byteLength);
    expect((await both('/auth/me')).status).toBe(401); // errors too, in the dialect's headers
    expect((await both('/no/such/path')).status).toBe(404);
  });

  it('is a 405 where GET is, with the same Allow as any other method', async () => {
    const head = await fetch(`${t.url}/auth/login`, { method: 'HEAD' });
    expect(head.status).toBe(405);
    expect(head.headers.get('allow')).toBe('POST');
    expect((await head.arrayBuffer()).byteLength).toBe(0);
  });

  it('is counted as HEAD in /metrics', async () => {
    await fetch(`${t.url}/healthz`, { method: 'HEAD' });
    const metric = t.gatehouse.services.metrics.registry.getSingleMetric('gatehouse_http_requests_total');
    const values = (await metric!.get()).values;
    expect(values.some((v) => v.labels.method === 'HEAD' && v.labels.route === '/healthz' && v.labels.status === '200')).toBe(true);
  });
});

describe("the validator's remembered routes (src/http/openapi.ts)", () => {
  it('are per method and path: a path answered before still gets 405 for another method; a trailing slash or a query is the same operation', async () => {
    for (let i = 0; i < 2; i++) {
      const get = await fetch(`${t.url}/auth/me`);
      expect(get.status).toBe(401);
      expect(await get.json()).toEqual({ message: 'Access Token is required' });
    }
    const del = await fetch(`${t.url}/auth/me`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    expect(await del.json()).toEqual({ message: 'Method not allowed' });
    for (const path of ['/auth/me/', '/auth/me?_=1', '/auth/me/?_=2']) {
      const response = await fetch(`${t.url}${path}`);
      expect(response.status, path).toBe(401);
      expect(await response.json(), path).toEqual({ message: 'Access Token is required' });
    }
  });
});

describe('bodies the contract does not take', () => {
  it('are never parsed, so malformed or oversized ones cannot fail the request (templated paths too)', async () => {
    const junk = { 'content-type': 'application/json' };
    const logout = await fetch(`${t.url}/auth/logout`, { method: 'POST', headers: junk, body: '{not json' });
    expect(logout.status).toBe(401); // no token: the dialect's auth error, not a body error
    const del = await fetch(`${t.url}/api/rest/v2/customers/999`, { method: 'DELETE', headers: junk, body: 'x'.repeat(100_000) });
    expect(del.status).toBe(401);
    expect(await del.json()).toEqual({ error: 'unauthorized', message: 'Authentication required', code: 401 });
  });
});

describe('empty bodies (Content-Length: 0) with a Content-Type that is neither JSON nor a form', () => {
  // fetch(url, { method: 'POST', body: '' }) sends Content-Type: text/plain;charset=UTF-8.
  const post = (path: string, body: string) => fetch(`${t.url}${path}`, { method: 'POST', body });

  it('count as no body where the body is optional: the dialect answers, never a 415', async () => {
    const refresh = await post('/auth/refresh', '');
    expect(refresh.status).toBe(401);
    expect(await refresh.json()).toEqual({ message: 'Refresh token required' });
    const cocart = await post('/wp-json/cocart/jwt/refresh-token', '');
    expect(cocart.status).toBe(403);
    expect(await cocart.json()).toEqual({ code: 'cocart_jwt_auth_missing_refresh_token', message: 'Refresh token is required.', data: { status: 403 } });
  });

  it("are missing fields where the body is required: each dialect's usual 400", async () => {
    for (const [path, answer] of [
      ['/auth/login', { message: 'Username and password required' }],
      ['/api/rest/v2/auth/token', { error: 'invalid_request', message: 'A JSON request body is required', code: 400 }],
      ['/oauth/token', { error: 'invalid_request', error_description: 'A form body (application/x-www-form-urlencoded) is required' }],
    ] as const) {
      const response = await post(path, '');
      expect(response.status, path).toBe(400);
      expect(await response.json(), path).toEqual(answer);
    }
  });

  it("a body that is not empty is still a 415 in the dialect's format", async () => {
    for (const [path, answer] of [
      ['/auth/refresh', { message: 'Unsupported Content-Type: send application/json or application/x-www-form-urlencoded' }],
      ['/wp-json/cocart/v2/logout', { code: 'rest_unsupported_media_type', message: 'Unsupported Content-Type: send application/json or application/x-www-form-urlencoded.', data: { status: 415 } }],
      ['/auth/login', { message: 'Unsupported Content-Type: send application/json or application/x-www-form-urlencoded' }],
    ] as const) {
      const response = await post(path, 'x');
      expect(response.status, path).toBe(415);
      expect(await response.json(), path).toEqual(answer);
    }
  });
});

describe('CORS', () => {
  it('answers a preflight from an allow-listed origin without a token, with credentials', async () => {
    const response = await fetch(`${t.url}/auth/login`, {
      method: 'OPTIONS',
      headers: {
        Origin: ALLOWED_ORIGIN,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('gives an allow-listed origin its own origin back, never *', async () => {
    const response = await fetch(`${t.url}/auth/me`, { headers: { Origin: ALLOWED_ORIGIN } });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
  });

  it('gives any other origin no CORS headers at all', async () => {
    const preflight = await fetch(`${t.url}/auth/login`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    expect(preflight.status).toBe(405);
    const simple = await fetch(`${t.url}/auth/me`, { headers: { Origin: 'http://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('says Vary: Origin on every answer, refusals included, so a shared cache never serves one origin what another got', async () => {
    // The JWKS is cacheable by shared caches: without Vary, its answer to a request with no
    // Origin (or a refused one) could be served to the allowed origin, without CORS headers.
    for (const origin of [undefined, 'http://evil.example', ALLOWED_ORIGIN]) {
      const response = await fetch(`${t.url}/.well-known/jwks.json`, { headers: origin ? { Origin: origin } : {} });
      expect(response.status, origin).toBe(200);
      expect(response.headers.get('cache-control'), origin).toBe('public, max-age=300');
      expect(response.headers.get('vary'), origin).toBe('Origin');
      expect(response.headers.get('access-control-allow-origin'), origin).toBe(origin === ALLOWED_ORIGIN ? ALLOWED_ORIGIN : null);
    }
    const refusedPreflight = await fetch(`${t.url}/auth/login`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' },
    });
    expect(refusedPreflight.status).toBe(405);
    expect(refusedPreflight.headers.get('vary')).toBe('Origin');
  });

  it('lets an allowed origin read Retry-After, WWW-Authenticate and X-Request-Id', async () => {
    const response = await fetch(`${t.url}/api/rest/v2/auth/logout`, { method: 'POST', headers: { Origin: ALLOWED_ORIGIN } });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'unauthorized', message: 'Authentication required', code: 401 });
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN);
    expect(response.headers.get('access-control-expose-headers')).toBe('Retry-After,WWW-Authenticate,X-Request-Id');
    const other = await fetch(`${t.url}/api/rest/v2/auth/logout`, { method: 'POST', headers: { Origin: 'http://evil.example' } });
    expect(other.headers.get('access-control-expose-headers')).toBeNull();
  });

  it('adds no Vary when CORS_ORIGINS is empty: no answer depends on Origin then', async () => {
    const noCors = await startTestServer({ CORS_ORIGINS: '', SEED_DEMO: 'false' });
    try {
      const response = await fetch(`${noCors.url}/.well-known/jwks.json`, { headers: { Origin: ALLOWED_ORIGIN } });
      expect(response.status).toBe(200);
      expect(response.headers.get('vary')).toBeNull();
      expect(response.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await noCors.close();
    }
  });
});

describe('security headers', () => {
  it("sends a JSON API's hardening headers (OWASP REST Security Cheat Sheet) and no X-Powered-By", async () => {
    for (const response of [await fetch(`${t.url}/healthz`), await fetch(`${t.url}/auth/me`)]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(response.headers.get('content-security-policy')).toBe("default-src 'none';frame-ancestors 'none'");
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('cross-origin-resource-policy')).toBe('same-origin');
      expect(response.headers.get('x-powered-by')).toBeNull();
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      // Headers for HTML documents only; GET /docs sends them.
      expect(response.headers.get('cross-origin-opener-policy')).toBeNull();
      expect(response.headers.get('x-dns-prefetch-control')).toBeNull();
    }
  });
});

describe('system endpoints', () => {
  it('GET /healthz answers 200 while the database works', async () => {
    const { data, response } = await getHealth({ client: t.client });
    expect(response.status).toBe(200);
    expect(zHealth.parse(data)).toEqual({ status: 'ok' });
  });

  it('GET /healthz answers 503 when the database does not', async () => {
    const broken = await startTestServer({ SEED_DEMO: 'false' });
    await broken.gatehouse.services.db.close();
    const { data, error, response } = await getHealth({ client: broken.client });
    expect(response.status).toBe(503);
    expect(data ?? error).toEqual({ status: 'unavailable' });
    await broken.close();
  });

  it('GET /openapi.json serves the bundled document the server validates against', async () => {
    const { data, response } = await getOpenApiDocument({ client: t.client });
    expect(response.status).toBe(200);
    const file = JSON.parse(readFileSync(new URL('../generated/openapi.json', import.meta.url), 'utf8'));
    expect(data).toEqual(file);
    expect(Object.keys((data as unknown as { components: { examples: object } }).components.examples).length).toBeGreaterThan(0);
  });

  it('GET /.well-known/jwks.json publishes public keys only, with cache headers', async () => {
    const { data, response } = await getJwks({ client: t.client });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('public, max-age=300');
    const jwks = zGetJwksResponse.parse(data);
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(Object.keys(jwks.keys[0]!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });
});
