// One of several processes racing for the lock on a data directory (test/data-dir-lock.test.ts).
// Prints "ready", takes the lock on the line "go", and prints "won" or "locked". The winner
// holds the lock until its stdin ends, then exits without releasing it, as a crashed server.
// Every synchronous file-system call takes a random 0–10 ms, as on a slow network file system,
// so the racers' steps interleave instead of one finishing before the next starts.
//
// With the argument "pause-after-recheck", it stalls once after taking a claim and re-reading
// the lock (between its re-check and its rename), printing "paused", until the file "resume"
// appears in the data directory: the test then plays the other racers' part meanwhile.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from '../../src/store/data-dir-lock.js';

const [dataDir, pauseStep] = process.argv.slice(2) as [string, string | undefined];
const real = { ...fs };
const pause = new Int32Array(new SharedArrayBuffer(4));
const fsFunctions = fs as unknown as Record<string, unknown>;
for (const [name, fn] of Object.entries(fsFunctions)) {
  if (!name.endsWith('Sync') || typeof fn !== 'function') continue;
  fsFunctions[name] = (...args: unknown[]) => {
    Atomics.wait(pause, 0, 0, Math.random() * 10);
    return (fn as (...a: unknown[]) => unknown)(...args);
  };
}
if (pauseStep === 'pause-after-recheck') {
  const lock = join(dataDir, LOCK_FILE);
  const claim = `${lock}.claim`;
  let paused = false;
  // The re-check reads the lock through one open file and ends with its fstat.
  fs.fstatSync = ((fd: number, ...rest: unknown[]) => {
    const stats = (real.fstatSync as (...a: unknown[]) => fs.Stats)(fd, ...rest);
    if (!paused && real.existsSync(claim) && real.readFileSync(claim, 'utf8').startsWith(`${process.pid} `) && stats.ino === real.statSync(lock).ino) {
      paused = true;
      real.writeSync(1, 'paused\n');
      while (!real.existsSync(join(dataDir, 'resume'))) Atomics.wait(pause, 0, 0, 10);
    }
    return stats;
  }) as typeof fs.fstatSync;
}
syncBuiltinESMExports(); // the lock module's named imports see the slow functions too

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
process.stdout.write('ready\n');
await lines.next();
try {
  await lockDataDir(dataDir);
} catch (err) {
  if (!(err instanceof DataDirLockedError)) throw err;
  process.stdout.write('locked\n');
  process.exit(0);
}
process.stdout.write('won\n');
await lines.next(); // stdin ended; the heartbeat must not keep the process alive
process.stdin.destroy();
