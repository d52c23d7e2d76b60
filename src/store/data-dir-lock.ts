// One process at a time on an embedded database. PGlite is PostgreSQL in single-user mode:
// two processes opening the same directory both succeed and corrupt it (PGlite 0.5 takes no
// lock of its own; the postmaster.pid it writes holds a fixed fake pid). So Gatehouse keeps
// its own lock file in DATA_DIR naming the owner, taken before PGlite opens the directory
// and removed on close. A file left by a process that is gone (crash, kill -9) is taken over.
//
// Containers sharing a volume do not share pids: the file also names the holder's pid
// namespace, and a holder from another one is judged by a heartbeat (the file's mtime,
// refreshed every HEARTBEAT_MS) instead of by its pid.
import { closeSync, fstatSync, openSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

export const LOCK_FILE = 'gatehouse.pid';

/** How often the holder refreshes the lock file's mtime. */
const HEARTBEAT_MS = 2_000;
/** A lock from another namespace, or a claim, not refreshed for this long is taken over: three missed beats. */
const STALE_AFTER_MS = 3 * HEARTBEAT_MS;
/** Warning code of a holder that finds its lock file replaced or removed. */
const LOCK_LOST_WARNING = 'GATEHOUSE_DATA_DIR_LOCK_LOST';

function readOrUndefined(read: () => string): string | undefined {
  try {
    return read().trim() || undefined;
  } catch {
    return undefined; // no /proc (not Linux), or not allowed to read it
  }
}

/**
 * Where a pid means something: the kernel's boot (two hosts, or one host rebooted) and the
 * pid namespace (two containers). Without /proc, the host name stands in for what is missing:
 * each container has its own, and processes of one host share it.
 */
export const NAMESPACE = [
  readOrUndefined(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
  readOrUndefined(() => readlinkSync('/proc/self/ns/pid')),
]
  .map((part) => part ?? `host=${hostname()}`)
  .join('/')
  .replace(/\s/g, '_');

/**
 * This process: its pid, when it started, and its namespace. The start time tells a reused pid
 * apart, as in a container restarted on the same volume, where every incarnation of the server
 * is pid 1 and the namespace id may be the same (the kernel reuses a gone namespace's).
 */
const SELF = `${process.pid} ${Math.round(performance.timeOrigin)} ${NAMESPACE}`;

export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly elsewhere = false,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${pid}${elsewhere ? ' of another container or host' : ''} (a running Gatehouse server?); ` +
        'stop it first, or run the server and this command on a PostgreSQL server with DATABASE_URL=postgres://…',
    );
  }
}

interface LockSeen {
  owner: string;
  mtimeMs: number;
}

/** The lock file's content and mtime, read from one open file; undefined when there is none. */
function readLock(file: string): LockSeen | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return { owner: readFileSync(fd, 'utf8').trim(), mtimeMs: fstatSync(fd).mtimeMs };
  } finally {
    closeSync(fd);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by another user
  }
}

interface Holder {
  pid: number;
  namespace: string;
}

/**
 * The holder a lock file's line names; undefined for an empty or partial line (one being
 * written). A line without a namespace was written by a Gatehouse from before namespaces were
 * recorded, and is judged as before: by its pid.
 */
function holderOf(owner: string): Holder | undefined {
  const [pidText, started, namespace = NAMESPACE] = owner.split(' ');
  const pid = Number(pidText);
  return Number.isInteger(pid) && pid > 0 && started ? { pid, namespace } : undefined;
}

/**
 * Whether the holder a lock file names is gone. In this namespace, by its pid (this process
 * included: the same process opening the directory twice would corrupt it just the same). In
 * another, by its heartbeat.
 */
function isStale({ owner, mtimeMs }: LockSeen): boolean {
  const holder = holderOf(owner);
  if (holder?.namespace !== NAMESPACE) return Date.now() - mtimeMs > STALE_AFTER_MS;
  if (holder.pid === process.pid) return owner !== SELF;
  return !pidAlive(holder.pid);
}

function createdExclusively(file: string, content: string): boolean {
  try {
    writeFileSync(file, content, { flag: 'wx', mode: 0o600 }); // O_CREAT | O_EXCL
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * Replaces the stale lock `seen` with this process's, unless another process is doing so.
 * Two processes that both judged the lock stale must not both win: the taker first creates a
 * claim file with O_EXCL (one process succeeds), checks again that the lock is the stale one
 * it saw, and renames the claim, holding its own line, over the lock. A claim older than
 * STALE_AFTER_MS is one whose claimer crashed: rather than removed (two processes removing it
 * at once could each remove the other's new claim), it is left and the next name claimed
 * (`.claim.2`, …), so each name is still won by one process; the winner removes them after.
 */
function takeOver(file: string, seen: LockSeen): 'taken' | 'busy' | 'changed' {
  const crashedClaims: string[] = [];
  let claim: string;
  for (let n = 1; ; n++) {
    claim = n === 1 ? `${file}.claim` : `${file}.claim.${n}`;
    if (createdExclusively(claim, `${SELF}\n`)) break;
    let claimedMs: number;
    try {
      claimedMs = statSync(claim).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      n--; // its claimer finished meanwhile: try the same name again
      continue;
    }
    if (Date.now() - claimedMs <= STALE_AFTER_MS) return 'busy';
    crashedClaims.push(claim);
  }
  try {
    const now = readLock(file);
    if (now?.owner !== seen.owner || !isStale(now)) {
      unlinkQuietly(claim);
      return 'changed';
    }
    renameSync(claim, file);
  } catch (err) {
    unlinkQuietly(claim); // not left to hold others off until it is stale
    throw err;
  }
  // Safe now: a process claiming one of these names finds the lock live and gives it up.
  crashedClaims.forEach(unlinkQuietly);
  return 'taken';
}

// Plain JavaScript evaluated in the worker: it needs no loader, whatever runs the main thread.
const HEARTBEAT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { closeSync, futimesSync, openSync, readFileSync } = require('node:fs');
const { file, owner, intervalMs } = workerData;
const timer = setInterval(() => {
  let fd;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if (err.code === 'ENOENT') lost(null);
    return;
  }
  try {
    const now = readFileSync(fd, 'utf8').trim();
    if (now !== owner) return lost(now);
    const seconds = Date.now() / 1000;
    futimesSync(fd, seconds, seconds); // this very file: never a successor's
  } catch {
    // a passing error (EIO, ...): the next beat tries again
  } finally {
    closeSync(fd);
  }
}, intervalMs);
function lost(holder) {
  clearInterval(timer);
  parentPort.postMessage(holder);
}
`;

/**
 * Refreshes the lock file's mtime from a worker thread: PGlite runs each query on the main
 * thread, so a long one (a migration, a large purge) blocks the event loop for seconds, and
 * a beat missed then would let another container take the lock. Returns its stop.
 */
function startHeartbeat(dataDir: string, file: string): () => Promise<void> {
  let stopped = false;
  const worker = new Worker(HEARTBEAT_WORKER, { eval: true, workerData: { file, owner: SELF, intervalMs: HEARTBEAT_MS } });
  const warn = (what: string) => {
    if (!stopped) {
      process.emitWarning(`the lock on the embedded database in ${dataDir} is lost: ${what}; another process may open it too`, {
        code: LOCK_LOST_WARNING,
      });
    }
  };
  worker.on('message', (holder: string | null) => warn(holder === null ? `${file} was removed` : `${file} now names ${JSON.stringify(holder)}`));
  worker.on('error', (err) => warn(`its heartbeat stopped (${err.message})`));
  worker.unref(); // the heartbeat never keeps the process alive; after on('message'), which refs it again
  return async () => {
    stopped = true;
    await worker.terminate();
  };
}

/**
 * Takes the lock on `dataDir`; resolves with its release. Throws DataDirLockedError.
 * A fresh lock from another namespace is watched until it beats (held: refused) or ages
 * past STALE_AFTER_MS (taken over), so a container restarted right after a crash starts.
 */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, LOCK_FILE);
  // Long enough to watch a lock age out and then a claim left by a crashed claimer.
  const deadline = Date.now() + 3 * STALE_AFTER_MS;
  let watched: LockSeen | undefined;
  while (Date.now() < deadline) {
    if (createdExclusively(file, `${SELF}\n`)) return hold(dataDir, file);
    const seen = readLock(file);
    if (seen === undefined) continue; // removed meanwhile: try again
    if (isStale(seen)) {
      const outcome = takeOver(file, seen);
      if (outcome === 'taken') return hold(dataDir, file);
      if (outcome === 'busy') await sleep(50);
      continue;
    }
    const holder = holderOf(seen.owner);
    if (holder?.namespace === NAMESPACE) throw new DataDirLockedError(dataDir, holder.pid);
    if (holder && watched?.owner === seen.owner && seen.mtimeMs > watched.mtimeMs) {
      throw new DataDirLockedError(dataDir, holder.pid, true);
    }
    if (watched?.owner !== seen.owner) watched = seen;
    await sleep(holder ? 250 : 50); // a line being written comes soon
  }
  throw new Error(`could not take the lock file ${file}`);
}

function hold(dataDir: string, file: string): () => Promise<void> {
  let stopHeartbeat: () => Promise<void>;
  try {
    stopHeartbeat = startHeartbeat(dataDir, file);
  } catch (err) {
    unlinkQuietly(file); // not left naming this process, which would then refuse itself
    throw err;
  }
  return async () => {
    await stopHeartbeat();
    if (readLock(file)?.owner === SELF) unlinkQuietly(file);
  };
}
