// A real browser (Debian's Chromium through playwright-core) runs the DummyJSON seed's
// cookie flow (`fetch(..., { credentials: 'include' })`: login, /auth/me, refresh) from a page
// of another origin, with cookies only and no Authorization header, and checks what the
// browser enforces: CORS for origins not on CORS_ORIGINS, HttpOnly (the page's script cannot
// read the tokens), and the SameSite and Secure attributes the server was configured with.
//
// Cookies are per host, not per port, and SameSite is about sites: a page on
// http://127.0.0.1:<other port> is another origin but the same site as the API on 127.0.0.1,
// so Lax cookies flow; a page on http://localhost:<port> is another site, which needs
// SameSite=None (and so Secure: Chromium accepts Secure cookies from http://127.0.0.1 and
// localhost, which it treats as secure contexts, as shown here) and a browser that accepts
// third-party cookies at all: Chromium's default blocks them, so this browser's profile
// allows them, as a user can (a SameSite=Lax cookie stays blocked cross-site all the same).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BROWSER_TIMEOUT_MS, launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/gatehouse.js';

/** The seed's flow, run inside the page: each step's status and body, and what document.cookie shows. */
async function seedFlow(api: string) {
  const step = async (path: string, init: RequestInit) => {
    const res = await fetch(`${api}${path}`, { ...init, credentials: 'include' });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const json = { 'Content-Type': 'application/json' };
  const login = await step('/auth/login', { method: 'POST', headers: json, body: JSON.stringify({ username: 'emilys', password: 'emilyspass', expiresInMins: 30 }) });
  const me = await step('/auth/me', { method: 'GET' });
  // No refreshToken in the body: "if not provided, the server will use the cookie".
  const refresh = await step('/auth/refresh', { method: 'POST', headers: json, body: JSON.stringify({ expiresInMins: 30 }) });
  const meAfterRefresh = await step('/auth/me', { method: 'GET' });
  return { login, me, refresh, meAfterRefresh, documentCookie: document.cookie };
}

vi.setConfig({ testTimeout: BROWSER_TIMEOUT_MS, hookTimeout: BROWSER_TIMEOUT_MS });

let browser: TestBrowser;
let pages: Server;
let pagePort: number;
/** What the browser sent to Gatehouse: method, path and headers of each request. */
let sent: Array<{ method: string; path: string; headers: Record<string, string> }> = [];

beforeAll(async () => {
  // The other origin: a blank page, on 127.0.0.1 and reachable as localhost too.
  pages = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>app</title>'));
  await new Promise<void>((r) => pages.listen(0, '127.0.0.1', r));
  pagePort = (pages.address() as AddressInfo).port;
  browser = await launchBrowser({ allowThirdPartyCookies: true });
  const record = async (request: Request) => {
    const url = new URL(request.url());
    if (Number(url.port) === pagePort) return;
    sent.push({ method: request.method(), path: url.pathname, headers: await request.allHeaders() });
  };
  browser.context.on('request', (r) => void record(r));
});
afterAll(async () => {
  await browser?.close();
  await new Promise((r) => pages?.close(r));
});
beforeEach(async () => {
  await browser.context.clearCookies();
  sent = [];
});

/** Opens the page at `origin` and runs the seed's flow against `api` from it. */
async function runFlowFrom(origin: string, api: string) {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/`);
    return await page.evaluate(seedFlow, api);
  } finally {
    await page.close();
  }
}

async function cookiesOf(api: string) {
  const jar = await browser.context.cookies(api);
  return Object.fromEntries(jar.map((c) => [c.name, c]));
}

describe('SameSite=Lax (the default), page on another origin of the same site', () => {
  let t: TestServer;
  const pageOrigin = () => `http://127.0.0.1:${pagePort}`;
  beforeAll(async () => {
    t = await startTestServer({ CORS_ORIGINS: pageOrigin() });
  });
  afterAll(() => t.close());

  it('runs login, /auth/me and refresh with cookies only; the script cannot read them', async () => {
    const flow = await runFlowFrom(pageOrigin(), t.url);
    expect(flow.login.status).toBe(200);
    expect(flow.login.body).toMatchObject({ id: 1, username: 'emilys', accessToken: expect.any(String), refreshToken: expect.any(String) });
    expect(flow.me).toMatchObject({ status: 200, body: { id: 1, username: 'emilys' } });
    expect(flow.refresh).toMatchObject({ status: 200, body: { accessToken: expect.any(String), refreshToken: expect.any(String) } });
    expect(flow.refresh.body.refreshToken).not.toBe(flow.login.body.refreshToken); // rotated
    expect(flow.meAfterRefresh).toMatchObject({ status: 200, body: { username: 'emilys' } });
    expect(flow.documentCookie).toBe(''); // HttpOnly: not even the names are visible to JavaScript

    // Cookies only: never an Authorization header; the refresh used the rotated cookie.
    const toApi = sent.filter((r) => r.method !== 'OPTIONS');
    expect(toApi.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /auth/login', 'GET /auth/me', 'POST /auth/refresh', 'GET /auth/me']);
    for (const r of toApi) expect(r.headers.authorization).toBeUndefined();
    for (const r of toApi.slice(1)) expect(r.headers.cookie).toMatch(/(^|; )accessToken=/);
    expect(toApi[2]!.headers.cookie).toContain(`refreshToken=${flow.login.body.refreshToken as string}`);
    expect(toApi[3]!.headers.cookie).toContain(`accessToken=${flow.refresh.body.accessToken as string}`);
  });

  it('stores the cookies with HttpOnly, Secure and SameSite=Lax', async () => {
    await runFlowFrom(pageOrigin(), t.url);
    const jar = await cookiesOf(t.url);
    for (const name of ['accessToken', 'refreshToken']) {
      expect(jar[name], name).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/', domain: '127.0.0.1' });
    }
  });

  it('refuses a page of an origin not on CORS_ORIGINS: the fetch rejects, the login is never sent', async () => {
    const served = async (method: string) => {
      const text = await (await fetch(`${t.url}/metrics`)).text();
      const lines = text.split('\n').filter((l) => l.startsWith('gatehouse_http_requests_total{') && l.includes('route="/auth/login"') && l.includes(`method="${method}"`));
      return lines.reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    };
    const [posts, preflights] = [await served('POST'), await served('OPTIONS')];
    const page = await browser.newPage();
    try {
      await page.goto(`http://localhost:${pagePort}/`);
      const outcome = await page.evaluate(async (api) => {
        try {
          const res = await fetch(`${api}/auth/login`, {
            method: 'POST',
            headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify({ username: 'emilys', password: 'emilyspass' }),
            credentials: 'include',
          });
          return `read ${res.status}`;
        } catch (err) {
          return `rejected: ${(err as Error).name}`;
        }
      }, t.url);
      expect(outcome).toBe('rejected: TypeError');
    } finally {
      await page.close();
    }
    // The JSON body needs a preflight, which got no CORS headers: the login itself never left the browser.
    expect(await served('OPTIONS')).toBe(preflights + 1);
    expect(await served('POST')).toBe(posts);
    expect(await browser.context.cookies(t.url)).toEqual([]);
  });

  it('keeps Lax cookies from a page of another site: its login answers, but no cookie is stored or sent', async () => {
    const other = await startTestServer({ CORS_ORIGINS: `http://localhost:${pagePort}` });
    try {
      const flow = await runFlowFrom(`http://localhost:${pagePort}`, other.url);
      expect(flow.login.status).toBe(200);
      expect(flow.me).toEqual({ status: 401, body: { message: 'Access Token is required' } });
      expect(await browser.context.cookies(other.url)).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('SameSite=None, page on another site', () => {
  let t: TestServer;
  const pageOrigin = () => `http://localhost:${pagePort}`;
  beforeAll(async () => {
    t = await startTestServer({ CORS_ORIGINS: pageOrigin(), COOKIE_SAMESITE: 'None' });
  });
  afterAll(() => t.close());

  it('runs the whole flow with cookies stored as SameSite=None; Secure; HttpOnly', async () => {
    const flow = await runFlowFrom(pageOrigin(), t.url);
    expect(flow.login.status).toBe(200);
    expect(flow.me).toMatchObject({ status: 200, body: { username: 'emilys' } });
    expect(flow.refresh.status).toBe(200);
    expect(flow.meAfterRefresh.status).toBe(200);
    expect(flow.documentCookie).toBe('');
    const jar = await cookiesOf(t.url);
    for (const name of ['accessToken', 'refreshToken']) {
      expect(jar[name], name).toMatchObject({ httpOnly: true, secure: true, sameSite: 'None' });
    }
  });
});
