// GET /docs: the API reference page, its assets, its Content-Security-Policy, and the page
// itself in headless Chromium: it renders every operation from this server alone, and
// "Try it out" calls this server.
import { mkdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { getDocs, getDocsAsset } from '../generated/client/sdk.gen.js';
import { zSystemError } from '../generated/client/zod.gen.js';
import { BROWSER_TIMEOUT_MS, launchBrowser, RESULTS_DIR, type TestBrowser } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';

const doc = JSON.parse(readFileSync(new URL('../generated/openapi.json', import.meta.url), 'utf8'));
const operationIds: string[] = Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((item) =>
  Object.values(item).flatMap((op) => (op.operationId ? [op.operationId] : [])),
);

// The page's policy, exactly as documented: this origin for everything, data: for Swagger UI's icons.
const PAGE_POLICY: string = doc.paths['/docs'].get.responses['200'].headers['Content-Security-Policy'].example;

vi.setConfig({ testTimeout: BROWSER_TIMEOUT_MS, hookTimeout: BROWSER_TIMEOUT_MS });
const STEP = { timeout: BROWSER_TIMEOUT_MS / 2 };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

describe('GET /docs over HTTP', () => {
  it('is an HTML page that loads only its own assets, under a policy that allows nothing else', async () => {
    const { data, response } = await getDocs({ client: server.client, parseAs: 'text' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(PAGE_POLICY).toContain("default-src 'none';");
    expect(response.headers.get('content-security-policy')).toBe(PAGE_POLICY);
    // The one HTML document also gets the headers meant for documents.
    expect(response.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    const html = String(data);
    const loaded = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(loaded).toEqual(['data:,', '/docs/assets/swagger-ui.css', '/docs/assets/swagger-ui-bundle.js', '/docs/assets/docs.js']);
    expect(html).not.toMatch(/<script>|<style|style=/); // nothing inline: the policy would refuse it
  });

  it.each([
    ['swagger-ui-bundle.js', 'text/javascript; charset=utf-8', 'SwaggerUIBundle'],
    ['swagger-ui.css', 'text/css; charset=utf-8', '.swagger-ui'],
    ['docs.js', 'text/javascript; charset=utf-8', "fetch('/openapi.json'"],
  ])('serves %s from this server with its type, cacheable for an hour', async (asset, type, content) => {
    const { data, response } = await getDocsAsset({ client: server.client, path: { asset }, parseAs: 'text' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(String(data)).toContain(content);
  });

  it.each(['index.html', 'package.json', '..%2Fpackage.json', 'swagger-ui-bundle.js.map'])('answers 404 {message} for any other file: %s', async (asset) => {
    const { error, response } = await getDocsAsset({ client: server.client, path: { asset } });
    expect(response.status).toBe(404);
    expect(zSystemError.parse(error)).toEqual({ message: 'Not found' });
  });

  it('answers 405 with Allow: GET, HEAD to another method', async () => {
    const response = await fetch(`${server.url}/docs`, { method: 'POST' });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET, HEAD');
    expect(await response.json()).toEqual({ message: 'Method not allowed' });
  });
});

describe('GET /docs in headless Chromium', () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('renders every operation grouped by dialect, "Try it out" calls this server, nothing leaves 127.0.0.1', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/docs`);
    const operations = page.locator('.opblock');
    await expect.poll(() => operations.count(), STEP).toBe(operationIds.length);
    for (const id of operationIds) expect(await page.locator(`[id^="operations-"][id$="-${id}"]`).count(), id).toBe(1);

    const tags = await page.locator('.opblock-tag').evaluateAll((els) => els.map((e) => e.getAttribute('data-tag')));
    expect(tags).toEqual((doc.tags as { name: string }[]).map((tag) => tag.name)); // DummyJSON, CoCart, Maho, …, System
    // The deliberate differences are on the page, not behind a click.
    await expect.poll(() => page.getByText('Deliberate differences from DummyJSON:').first().isVisible(), STEP).toBe(true);
    await expect.poll(() => page.getByText('Differences from Maho').first().isVisible(), STEP).toBe(true);

    const servers = await page.locator('.servers select option').allTextContents();
    expect(servers).toEqual([`${server.url} - This server`]);

    // Try it out: the DummyJSON login, from the page to this server.
    const login = page.locator('#operations-DummyJSON-dummyjsonLogin');
    await login.locator('.try-out__btn').click();
    await login.locator('textarea.body-param__text').fill(JSON.stringify({ username: 'emilys', password: 'emilyspass' }));
    const answered = page.waitForResponse((r) => r.url() === `${server.url}/auth/login` && r.request().method() === 'POST');
    await login.locator('.execute').click();
    expect((await answered).status()).toBe(200);
    const shown = login.locator('.live-responses-table tbody .response-col_status').first();
    await expect.poll(() => shown.textContent(), STEP).toBe('200');
    await expect.poll(() => login.locator('.live-responses-table tbody .response-col_description').first().textContent(), STEP).toContain('"accessToken"');
    await login.locator('.live-responses-table').scrollIntoViewIfNeeded();
    mkdirSync(RESULTS_DIR, { recursive: true });
    await page.screenshot({ path: new URL('docs-try-it.png', RESULTS_DIR).pathname });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: new URL('docs.png', RESULTS_DIR).pathname });

    const origins = new Set(browser.requests.map((u) => new URL(u).origin));
    expect([...origins]).toEqual([server.url]);
    expect(browser.requests).toContain(`${server.url}/openapi.json`);
    expect(browser.requests).toContain(`${server.url}/auth/login`);
    expect(browser.errors).toEqual([]); // CSP violations would be here
  });
});
