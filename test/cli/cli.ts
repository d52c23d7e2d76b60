// Runs the admin command line as users do (`node src/cli/bin.js`, what the package's bin
// points at) against a database the test owns, and starts servers on the same data.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, testDatabase, type TestServer } from '../helpers/gatehouse.js';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * An on-disk embedded database in a temporary DATA_DIR, or with TEST_DATABASE_URL a fresh
 * PostgreSQL database; `env` points both the command line and test servers at it.
 */
export async function cliDatabase(): Promise<{ env: Record<string, string>; shared: boolean; drop(): Promise<void> }> {
  if (process.env.TEST_DATABASE_URL) {
    const db = await testDatabase();
    return { env: { DATABASE_URL: db.url, SEED_DEMO: 'true' }, shared: true, drop: db.drop };
  }
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
  return { env: { DATABASE_URL: '', DATA_DIR: dir, SEED_DEMO: 'true' }, shared: false, drop: () => rm(dir, { recursive: true, force: true }) };
}

/** `gatehouse <args>` with only the given environment (plus PATH and HOME), and `input` on stdin. */
export function gatehouse(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliResult> {
  const child = spawn(process.execPath, ['src/cli/bin.js', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs `fn` against a server on the test's database, then stops it (the embedded database allows one process). */
export async function withServer<T>(env: Record<string, string>, fn: (t: TestServer) => Promise<T>): Promise<T> {
  const t = await startTestServer(env);
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

/** Parses a --json result, failing with the whole output when it is not JSON. */
export function json<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}
