// Starts a real Gatehouse on an ephemeral port with an in-memory database and a clock the
// test can move, and gives a generated client pointed at it.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import type { Logger } from 'pino';
import { inject } from 'vitest';
import { createClient, createConfig, type Client } from '../../generated/client/client/index.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Clock } from '../../src/core/clock.js';
import { startGatehouse, type Gatehouse } from '../../src/gatehouse.js';

export class TestClock implements Clock {
  #t = Date.now();
  now(): number {
    return this.#t;
  }
  advance(seconds: number): void {
    this.#t += seconds * 1000;
  }
}

export interface TestServer {
  url: string;
  client: Client;
  clock: TestClock;
  gatehouse: Gatehouse;
  config: Config;
  close(): Promise<void>;
}

export const ALLOWED_ORIGIN = 'http://app.example.test';

/**
 * With TEST_DATABASE_URL=postgres://… every test server gets a database of its own on that
 * PostgreSQL server (created here, dropped on close); otherwise an in-memory PGlite.
 */
export async function testDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = process.env.TEST_DATABASE_URL;
  if (!admin) return { url: 'memory://', drop: async () => undefined };
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

let template: Blob | undefined;
/** The fresh cluster test/global-setup.ts dumped, read once per test file. */
export function pgliteTemplate(): Blob | undefined {
  const file = inject('pgliteTemplate');
  if (!file) return undefined;
  template ??= new Blob([readFileSync(file)]);
  return template;
}

export async function startTestServer(env: Record<string, string> = {}, opts: { logger?: Logger } = {}): Promise<TestServer> {
  const database = 'DATABASE_URL' in env ? { url: env.DATABASE_URL!, drop: async () => undefined } : await testDatabase();
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATABASE_URL: database.url,
    SEED_DEMO: 'true',
    RATE_LIMITS: 'off',
    LOG_LEVEL: 'silent',
    CORS_ORIGINS: ALLOWED_ORIGIN,
    PUBLIC_URL: 'http://gatehouse.test',
    ...env,
  });
  if (config.database.kind === 'pglite-memory') config.database = { kind: 'pglite-memory', startFrom: pgliteTemplate() };
  const clock = new TestClock();
  const gatehouse = await startGatehouse(config, { clock, logger: opts.logger });
  const client = createClient(createConfig({ baseUrl: gatehouse.url }));
  const close = async () => {
    await gatehouse.close();
    await database.drop();
  };
  return { url: gatehouse.url, client, clock, gatehouse, config, close };
}

/** Each Set-Cookie header of a response, parsed: name → {value, attributes (lower-case keys)}. */
export function setCookies(response: Response): Map<string, { value: string; attrs: Record<string, string | true> }> {
  const out = new Map<string, { value: string; attrs: Record<string, string | true> }>();
  for (const header of response.headers.getSetCookie()) {
    const [pair, ...attrs] = header.split(';').map((p) => p.trim());
    const eq = pair!.indexOf('=');
    const parsed: Record<string, string | true> = {};
    for (const a of attrs) {
      const i = a.indexOf('=');
      if (i < 0) parsed[a.toLowerCase()] = true;
      else parsed[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
    }
    out.set(pair!.slice(0, eq), { value: decodeURIComponent(pair!.slice(eq + 1)), attrs: parsed });
  }
  return out;
}

/** A form body serializer for the generated client (application/x-www-form-urlencoded). */
export function formBody(body: unknown): string {
  return new URLSearchParams(body as Record<string, string>).toString();
}

export const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' } as const;
