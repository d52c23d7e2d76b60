// The lock on an embedded database's directory (src/store/data-dir-lock.ts) across pid
// namespaces and racing processes. Another container's lock is faked by writing a namespace
// that is not this one into the file and setting its mtime.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { link, mkdtemp, readdir, readFile, rename, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
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
  await age(file, ageMs);
}

async function age(file: string, ms: number): Promise<void> {
  const seconds = (Date.now() - ms) / 1000;
  await utimes(file, seconds, seconds);
}

/** Resolves with what `promise` resolves with, or with `fallback` after `ms`. */
function within<T, F>(ms: number, promise: Promise<T>, fallback: F): Promise<T | F> {
  return Promise.race([promise, sleep(ms, fallback)]);
}

/** A process of test/helpers/lock-contender.ts; `next` reads its next line. */
function contender(...args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/lock-contender.ts', dir, ...args], { stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => (await lines.next()).value as string | undefined;
  return { child, next, exited: once(child, 'exit') as Promise<[number | null]>, stderr: () => stderr };
}

/** Its lock file names a process: the first field. */
async function lockPid(): Promise<string | undefined> {
  return (await readFile(lock, 'utf8')).split(' ')[0];
}

const DEAD_HOLDER_HERE = `${DEAD_PID} 1700000000000 ${NAMESPACE}`;

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
    expect(await lockPid()).toBe(String(process.pid));
    await expect(stat(`${lock}.claim`)).rejects.toThrow(/ENOENT/);
    await release();
    await expect(stat(lock)).rejects.toThrow(/ENOENT/);
  });
});

describe('a lock from this pid namespace', () => {
  it('naming a live process, is taken over once not refreshed for 6 s (a pid reused by an unrelated process)', async () => {
    await writeLock(`${process.ppid} 1700000000000 ${NAMESPACE}`, 10_000);
    const release = await lockDataDir(dir, { onLost: () => undefined });
    expect(await lockPid()).toBe(String(process.pid));
    await release();
  });

  it('naming a live process without a namespace (an older Gatehouse, which does not beat), is not taken over however old', async () => {
    await writeLock(`${process.ppid} 1700000000000`, 10_000);
    await expect(lockDataDir(dir)).rejects.toThrow(DataDirLockedError);
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

  it('refreshes a lock just taken over at once, though its claim was created long before', async () => {
    await writeLock(DEAD_HOLDER_HERE, 0);
    const racer = contender('pause-after-recheck');
    try {
      expect(await racer.next()).toBe('ready');
      racer.child.stdin.write('go\n');
      expect(await racer.next()).toBe('paused');
      await age(`${lock}.claim`, 10_000);
      await writeFile(join(dir, 'resume'), '');
      expect(await racer.next()).toBe('won');
      expect(Date.now() - (await stat(lock)).mtimeMs).toBeLessThan(1_000);
    } finally {
      racer.child.stdin.end();
    }
    expect((await racer.exited)[0]).toBe(0);
  });

  it('warns (GATEHOUSE_DATA_DIR_LOCK_LOST) when its lock file names another process', async () => {
    let lostWith: string | undefined;
    const release = await lockDataDir(dir, { onLost: (message) => (lostWith = message) });
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
      expect(lostWith).toBe(warning.message);
    } finally {
      await release();
    }
    expect(await lockPid()).toBe('1'); // not removed: not its own
  }, 10_000);

  it('counts a heartbeat that keeps failing as losing the lock', async () => {
    let onLost!: (message: string) => void;
    const lost = new Promise<string>((resolve) => (onLost = resolve));
    const release = await lockDataDir(dir, { onLost });
    try {
      // Opened as before, but no longer refreshed: reading it fails (EISDIR).
      await symlink(dir, join(dir, 'link'));
      await rename(join(dir, 'link'), lock);
      expect(await within(6_000, lost, 'not lost')).toMatch(
        new RegExp(`^the lock on the embedded database in ${dir} is lost: ${lock} could not be refreshed 2 times in a row \\(EISDIR`),
      );
    } finally {
      await rm(lock);
      await release();
    }
  }, 10_000);

  it('by default exits at once, with status 1 and a line on stderr, when its lock is lost', async () => {
    const holder = contender();
    expect(await holder.next()).toBe('ready');
    holder.child.stdin.write('go\n');
    expect(await holder.next()).toBe('won');
    await writeFile(lock, `1 1700000000000 ${OTHER_CONTAINER}\n`);
    const exited = await within(5_000, holder.exited, undefined);
    holder.child.stdin.end();
    expect(exited?.[0]).toBe(1);
    expect(holder.stderr()).toBe(
      `gatehouse: the lock on the embedded database in ${dir} is lost: ${lock} now names "1 1700000000000 ${OTHER_CONTAINER}"; ` +
        'another process may open it too; exiting at once (GATEHOUSE_DATA_DIR_LOCK_LOST)\n',
    );
  }, 10_000);
});

describe('processes racing over one stale lock', () => {
  it('let exactly one of them take it over', async () => {
    await writeLock(DEAD_HOLDER_HERE, 0);
    const racers = Array.from({ length: 6 }, () => contender());
    for (const racer of racers) expect(await racer.next()).toBe('ready');
    for (const racer of racers) racer.child.stdin.write('go\n');
    const outcomes = await Promise.all(racers.map((racer) => racer.next()));
    const winners = racers.filter((_, i) => outcomes[i] === 'won');
    expect(outcomes.filter((outcome) => outcome !== 'locked')).toEqual(['won']);
    expect(await lockPid()).toBe(String(winners[0]!.child.pid));
    for (const racer of racers) racer.child.stdin.end(); // the winner exits holding the lock
    expect((await Promise.all(racers.map((racer) => racer.exited))).map(([code]) => code)).toEqual(racers.map(() => 0));
  });

  it.each([
    { stall: 'over 1 s, its claim put back', stallMs: 1_200, claimPutBack: true },
    { stall: 'briefly, its claim removed (its rename fails)', stallMs: 0, claimPutBack: false },
  ])('let a claimer stalled $stall between its re-check and its rename start over, not overwrite the racer that passed it', async ({ stallMs, claimPutBack }) => {
    await writeLock(DEAD_HOLDER_HERE, 0);
    const slow = contender('pause-after-recheck');
    let release: (() => Promise<void>) | undefined;
    try {
      expect(await slow.next()).toBe('ready');
      slow.child.stdin.write('go\n');
      expect(await slow.next()).toBe('paused');
      const pausedAt = Date.now();
      // Its claim looks crashed: this process passes it over, takes the lock and removes the
      // claim, which may be put back, as if the removal came after the slow one's rename.
      await age(`${lock}.claim`, 10_000);
      await link(`${lock}.claim`, join(dir, 'kept'));
      release = await lockDataDir(dir, { onLost: () => undefined });
      if (claimPutBack) await rename(join(dir, 'kept'), `${lock}.claim`);
      else await rm(join(dir, 'kept'));
      await sleep(stallMs - (Date.now() - pausedAt));
      await writeFile(join(dir, 'resume'), '');
      expect(await slow.next()).toBe('locked');
      expect(await lockPid()).toBe(String(process.pid));
      expect((await readdir(dir)).sort()).toEqual([LOCK_FILE, 'resume']); // its claim removed
    } finally {
      slow.child.stdin.end();
      await release?.();
    }
    expect((await slow.exited)[0]).toBe(0);
  });
});
