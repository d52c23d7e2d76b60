// Runs the admin command line against a database the test owns, and starts servers on the
// same data. A command runs in this process (`run`, what src/cli/bin.js calls) unless what is
// tested is the process itself: its exit status, a terminal, the lock between processes. A
// spawned command costs about 5 s of CPU (tsx, compiling PGlite), one in-process about 1 s.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { inject } from 'vitest';
import { run } from '../../src/cli/main.js';
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
  // The fresh cluster test/global-setup.ts made, so that the first open skips initdb (a few
  // seconds); test/persistence.test.ts starts on an empty DATA_DIR.
  const template = inject('pgliteTemplate');
  if (template) execFileSync('tar', ['-xf', template, '-C', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  return { env: { DATABASE_URL: '', DATA_DIR: dir, SEED_DEMO: 'true' }, shared: false, drop: () => rm(dir, { recursive: true, force: true }) };
}

/** The whole environment of a command line run: `env`, plus PATH and HOME. */
const childEnv = (env: Record<string, string>) => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', NODE_ENV: 'test', ...env });

/** A stream that appends what is written to it to `out`. */
const collect = (out: (text: string) => void) =>
  new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, done) {
      out(chunk.toString());
      done();
    },
  });

/**
 * `gatehouse <args>` in this process, with only the given environment (plus PATH and HOME),
 * and `input` on a standard input that is a pipe.
 */
export async function gatehouse(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  // What a process of its own would also have shown: warnings on its stderr, and anything left
  // open that would keep it from exiting.
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(`(node) ${w.name}: ${w.message}\n`);
  process.on('warning', onWarning);
  const before = process.getActiveResourcesInfo();
  let code: number;
  try {
    code = await run(args, {
      stdout: collect((t) => (stdout += t)),
      stderr: collect((t) => (stderr += t)),
      stdin: Readable.from(input ? [Buffer.from(input)] : []) as NodeJS.ReadStream,
      env: childEnv(env),
    });
    await new Promise((resolve) => setImmediate(resolve)); // a warning is emitted on a later tick
  } finally {
    process.off('warning', onWarning);
  }
  const left = await leftOpen(before);
  if (left.length > 0) throw new Error(`gatehouse ${args.join(' ')} left open ${left.join(', ')}: as a process of its own it would not exit`);
  return { code, stdout, stderr: stderr + warnings.join('') };
}

/** Resources (by type) keeping the event loop alive now that were not before, after a moment to close. */
async function leftOpen(before: string[]): Promise<string[]> {
  for (let attempt = 0; ; attempt++) {
    const counts = new Map<string, number>();
    for (const type of before) counts.set(type, (counts.get(type) ?? 0) - 1);
    for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
    const left = [...counts].filter(([, n]) => n > 0).map(([type, n]) => `${n} ${type}`);
    if (left.length === 0 || attempt === 20) return left;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** As `gatehouse`, in a process of its own: `node src/cli/bin.js <args>`, what the package's bin runs. */
export function gatehouseProcess(args: string[], env: Record<string, string> = {}, input = ''): Promise<CliResult> {
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
