// One of several processes racing for the lock on a data directory (test/data-dir-lock.test.ts).
// Prints "ready", takes the lock on the line "go", and prints "won" or "locked". The winner
// holds the lock until its stdin ends, then exits without releasing it, as a crashed server.
// Every synchronous file-system call takes a random 0–10 ms, as on a slow network file system,
// so the racers' steps interleave instead of one finishing before the next starts.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { createInterface } from 'node:readline';
import { DataDirLockedError, lockDataDir } from '../../src/store/data-dir-lock.js';

const dataDir = process.argv[2]!;
const pause = new Int32Array(new SharedArrayBuffer(4));
const fsFunctions = fs as unknown as Record<string, unknown>;
for (const [name, fn] of Object.entries(fsFunctions)) {
  if (!name.endsWith('Sync') || typeof fn !== 'function') continue;
  fsFunctions[name] = (...args: unknown[]) => {
    Atomics.wait(pause, 0, 0, Math.random() * 10);
    return (fn as (...a: unknown[]) => unknown)(...args);
  };
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
