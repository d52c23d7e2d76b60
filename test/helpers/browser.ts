// Headless Debian Chromium driven by playwright-core, for tests that need a real browser
// (the docs page; CORS and cookie behaviour). Each launch gets a fresh, throwaway profile and
// no background traffic of its own, so every request it makes is one the page asked for.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * How long a browser test, its hooks and each of its steps may take. CI runs eight test files
 * at once on two cores, with command-line tests spawning processes beside them: Chromium
 * parsing and rendering Swagger UI then takes tens of seconds instead of a few (a 60 s bound
 * was once exceeded). A step still ends as soon as what it waits for is there.
 */
export const BROWSER_TIMEOUT_MS = 240_000;

/** Where tests save screenshots (gitignored; CI keeps it as an artifact). */
export const RESULTS_DIR = new URL('../../test-results/', import.meta.url);

export interface TestBrowser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  /** Every URL the browser requested since launch, in order. */
  requests: string[];
  /** Console errors and uncaught page errors (CSP violations show up here). */
  errors: string[];
  close(): Promise<void>;
}

/**
 * `allowThirdPartyCookies`: Chromium blocks cookies of other sites' requests by default (its
 * "UserPreferences" block); a user can allow them, which this sets in the fresh profile.
 */
export async function launchBrowser(
  opts: { viewport?: { width: number; height: number }; allowThirdPartyCookies?: boolean } = {},
): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does it`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'gatehouse-chromium-'));
  if (opts.allowThirdPartyCookies) {
    await mkdir(join(profile, 'Default'));
    await writeFile(join(profile, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: 0, block_third_party_cookies: false } }));
  }
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: opts.viewport ?? { width: 1280, height: 900 },
  });
  context.setDefaultTimeout(BROWSER_TIMEOUT_MS / 2);
  const requests: string[] = [];
  const errors: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  const watch = (page: Page) => {
    page.on('console', (message) => {
      if (message.type() === 'error') errors.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    requests,
    errors,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
