// The lock on an embedded database's directory (src/store/data-dir-lock.ts) across pid
// namespaces and racing processes. Another container's lock is faked by writing a namespace
// that is not this one into the file and setting its mtime.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirLockedError, LOCK_FILE, lockDataDir, NAMESPACE } from '../src/store/data-dir-lock.js';

const OTHER_CONTAINER = 'c0ffee00-0000-4000-8000-000000000000/pid:[4026532000]';
/** No process has this pid (Linux's maximum is 4194304). */
const DEAD_PID = 999_999_999;

let dir: string;
let lock: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-lock-'));
  lock = join(dir, LOCK_FILE);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeLock(line: string, ageMs: number, file = lock): Promise<void> {
  await writeFile(file, `${line}\n`);
  const seconds = (Date.now() - ageMs) / 1000;
  await utimes(file, seconds, seconds);
}

describe('a lock from another pid namespace', () => {
  it('is not taken over while it is refreshed, even though its pid is not alive here', async () => {
    const line = `${DEAD_PID} 1700000000000 ${OTHER_CONTAINER}`;
    await writeLock(line, 0);
    const heartbeat = setInterval(() => void utimes(lock, new Date(), new Date()), 500);
    try {
      const refused = await Promise.resolve()
        .then(() => lockDataDir(dir))
        .then(
          () => undefined,
          (err: unknown) => err,
        );
      expect(refused).toBeInstanceOf(DataDirLockedError);
      expect((refused as DataDirLockedError).message).toContain(`in use by process ${DEAD_PID} of another container or host`);
    } finally {
      clearInterval(heartbeat);
    }
    expect(await readFile(lock, 'utf8')).toBe(`${line}\n`);
  });

  it('is taken over once not refreshed for 6 s, even though its pid is alive here, and past a crashed claimer', async () => {
    await writeLock(`1 1700000000000 ${OTHER_CONTAINER}`, 4_000); // pid 1 runs in every namespace
    await writeLock(`${DEAD_PID} 1700000000000 ${OTHER_CONTAINER}`, 7_000, `${lock}.claim`);
    const started = Date.now();
    const release = await lockDataDir(dir);
    expect(Date.now() - started).toBeGreaterThan(1_500); // waited for the last beat to be 6 s old
    expect((await readFile(lock, 'utf8')).split(' ')[0]).toBe(String(process.pid));
    await expect(stat(`${lock}.claim`)).rejects.toThrow(/ENOENT/);
    await release();
    await expect(stat(lock)).rejects.toThrow(/ENOENT/);
  });
});

describe('the holder', () => {
  it('refreshes the lock while its event loop is blocked', async () => {
    const release = await lockDataDir(dir);
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5_000); // 2.5 heartbeats
      expect(Date.now() - (await stat(lock)).mtimeMs).toBeLessThan(3_000);
    } finally {
      await release();
    }
  });

  it('warns (GATEHOUSE_DATA_DIR_LOCK_LOST) when its lock file names another process', async () => {
    const release = await lockDataDir(dir);
    const warned = new Promise<Error>((resolve) => {
      const onWarning = (warning: Error & { code?: string }) => {
        if (warning.code !== 'GATEHOUSE_DATA_DIR_LOCK_LOST') return;
        process.off('warning', onWarning);
        resolve(warning);
      };
      process.on('warning', onWarning);
    });
    try {
      await writeFile(lock, `1 1700000000000 ${OTHER_CONTAINER}\n`);
      const warning = await warned;
      expect(warning.message).toBe(
        `the lock on the embedded database in ${dir} is lost: ${lock} now names "1 1700000000000 ${OTHER_CONTAINER}"; another process may open it too`,
      );
    } finally {
      await release();
    }
    expect((await readFile(lock, 'utf8')).split(' ')[0]).toBe('1'); // not removed: not its own
  }, 10_000);
});

describe('processes racing over one stale lock', () => {
  it('let exactly one of them take it over', async () => {
    await writeLock(`${DEAD_PID} 1700000000000 ${NAMESPACE}`, 0);
    const racers = Array.from({ length: 6 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/lock-contender.ts', dir], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const next = async () => (await lines.next()).value as string | undefined;
      return { child, next, exited: once(child, 'exit') };
    });
    for (const racer of racers) expect(await racer.next()).toBe('ready');
    for (const racer of racers) racer.child.stdin.write('go\n');
    const outcomes = await Promise.all(racers.map((racer) => racer.next()));
    const winners = racers.filter((_, i) => outcomes[i] === 'won');
    expect(outcomes.filter((outcome) => outcome !== 'locked')).toEqual(['won']);
    expect((await readFile(lock, 'utf8')).split(' ')[0]).toBe(String(winners[0]!.child.pid));
    for (const racer of racers) racer.child.stdin.end(); // the winner exits holding the lock
    expect((await Promise.all(racers.map((racer) => racer.exited))).map(([code]) => code)).toEqual(racers.map(() => 0));
  });
});
