// Runs the admin command line as users do (`node src/cli/bin.js`, what the package's bin
// points at) against a database the test owns, and starts servers on the same data.
import { spawn, type ChildProcess } from 'node:child_process';
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

/** The whole environment of a command line run: `env`, plus PATH and HOME. */
const childEnv = (env: Record<string, string>) => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', ...env });

/** `gatehouse <args>` with only the given environment (plus PATH and HOME), and `input` on stdin. */
export function gatehouse(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliResult> {
  const child = spawn(process.execPath, ['src/cli/bin.js', ...args], {
    env: childEnv(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return finished(child, input);
}

// Opens a pseudo-terminal, types an end of input (^D) into it, so that whatever reads it ends
// instead of waiting, and runs the command with the terminal as standard input.
const ON_TERMINAL = `import os, subprocess, sys
primary, secondary = os.openpty()
os.write(primary, b'\\x04')
sys.exit(subprocess.run(sys.argv[1:], stdin=secondary).returncode)`;

/** As `gatehouse`, with a terminal (python3's os.openpty) as standard input; stdout and stderr stay pipes. */
export function gatehouseOnTerminal(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const child = spawn('python3', ['-c', ON_TERMINAL, process.execPath, 'src/cli/bin.js', ...args], {
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return finished(child);
}

/** The exit status and output of a command line run, after `input` on its stdin (when a pipe). */
function finished(child: ChildProcess, input = ''): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin?.end(input);
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
