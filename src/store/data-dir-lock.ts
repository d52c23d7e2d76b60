// One process at a time on an embedded database. PGlite is PostgreSQL in single-user mode:
// two processes opening the same directory both succeed and corrupt it (PGlite 0.5 takes no
// lock of its own; the postmaster.pid it writes holds a fixed fake pid). So Gatehouse keeps
// its own lock file in DATA_DIR naming the owner, taken before PGlite opens the directory
// and removed on close. A file left by a process that is gone (crash, kill -9) is taken over.
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'gatehouse.pid';

/**
 * This process: its pid and when it started. The start time tells a reused pid apart, as in a
 * container restarted on the same volume, where every incarnation of the server is pid 1.
 */
const SELF = `${process.pid} ${Math.round(performance.timeOrigin)}`;

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${pid} (a running Gatehouse server?); ` +
        'stop it first, or run the server and this command on a PostgreSQL server with DATABASE_URL=postgres://…',
    );
  }
}

/** Whether the process a lock file names still runs (this one included). */
function holderAlive(owner: string): boolean {
  const [pidText, startedText] = owner.split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return startedText === SELF.split(' ')[1];
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

/** Takes the lock on `dataDir`; returns its release. Throws DataDirLockedError. */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600); // O_CREAT | O_EXCL: exactly one process wins
      writeSync(fd, `${SELF}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === SELF) unlinkSync(file);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: string;
    try {
      owner = readFileSync(file, 'utf8').trim();
    } catch {
      continue; // removed meanwhile: try again
    }
    // The same process opening the directory twice would corrupt it just the same.
    if (holderAlive(owner)) throw new DataDirLockedError(dataDir, Number(owner.split(' ')[0]));
    try {
      unlinkSync(file); // left by a process that is gone
    } catch {
      // another process took it over first; the next attempt sees its pid
    }
  }
  throw new Error(`could not take the lock file ${file}`);
}
