// One process at a time on an embedded database. PGlite is PostgreSQL in single-user mode:
// two processes opening the same directory both succeed and corrupt it (PGlite 0.5 takes no
// lock of its own; the postmaster.pid it writes holds a fixed fake pid). So Gatehouse keeps
// its own lock file in DATA_DIR naming the owner, taken before PGlite opens the directory
// and removed on close. A file left by a process that is gone (crash, kill -9) is taken over.
//
// Containers sharing a volume do not share pids: the file also names the holder's pid
// namespace, and a holder from another one is judged by a heartbeat (the file's mtime,
// refreshed every HEARTBEAT_MS) instead of by its pid.
import { randomUUID } from 'node:crypto';
import { closeSync, fstatSync, futimesSync, openSync, readFileSync, readlinkSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';

export const LOCK_FILE = 'gatehouse.pid';

/** How often the holder refreshes the lock file's mtime. */
const HEARTBEAT_MS = 2_000;
/** A lock from another namespace, or a claim, not refreshed for this long is taken over: three missed beats. */
const STALE_AFTER_MS = 3 * HEARTBEAT_MS;
/**
 * A claimer that took longer than this from creating its claim to renaming it starts over:
 * six times less than the age at which another passes over the claim as a crashed one's.
 */
const CLAIM_MAX_MS = STALE_AFTER_MS / 6;
/** Failed beats in a row (the file could not be opened or its mtime not refreshed) that count as losing the lock. */
const MAX_FAILED_BEATS = 2;
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
 * pid namespace (two containers). A part that cannot be read from /proc is made unique to this
 * process, so that every other process judges it by its heartbeat: the host name would not do,
 * as containers with host networking share it while each has a pid 1 of its own.
 */
export const NAMESPACE = [
  readOrUndefined(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
  readOrUndefined(() => readlinkSync('/proc/self/ns/pid')),
]
  .map((part) => part ?? `unknown=${randomUUID()}`)
  .join('/')
  .replace(/\s/g, '_');

/**
 * This process: its pid, when it started, and its namespace. The start time tells a reused pid
 * apart, as in a container restarted on the same volume, where every incarnation of the server
 * is pid 1 and the namespace id may be the same (the kernel reuses a gone namespace's).
 */
const SELF = `${process.pid} ${Math.round(performance.timeOrigin)} ${NAMESPACE}`;

/** The data directory is locked by another process; `pid` undefined: its lock kept changing hands. */
export class DataDirLockedError extends Error {
  override readonly name = 'DataDirLockedError';
  constructor(
    readonly dataDir: string,
    readonly pid: number | undefined,
    readonly elsewhere = false,
  ) {
    super(
      `${
        pid === undefined
          ? `the embedded database in ${dataDir} could not be locked: its lock file ${LOCK_FILE} kept changing (other processes starting at once?); try again when they have started`
          : `the embedded database in ${dataDir} is in use by process ${pid}${elsewhere ? ' of another container or host' : ''} (a running Gatehouse server?); stop it first`
      }, or run the server and this command on a PostgreSQL server with DATABASE_URL=postgres://…`,
    );
  }
}

interface LockSeen {
  owner: string;
  mtimeMs: number;
  ino: number;
}

/**
 * The lock file's content, mtime and inode, read from one open file; undefined when there is
 * none. When it names `touchIfOwner`, its mtime is refreshed first, through that open file.
 */
function readLock(file: string, touchIfOwner?: string): LockSeen | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const owner = readFileSync(fd, 'utf8').trim();
    if (owner === touchIfOwner) {
      const seconds = Date.now() / 1000;
      futimesSync(fd, seconds, seconds);
    }
    const { mtimeMs, ino } = fstatSync(fd);
    return { owner, mtimeMs, ino };
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
  /** Whether it refreshes the lock's mtime: every Gatehouse that records its namespace does. */
  beats: boolean;
}

/**
 * The holder a lock file's line names; undefined for an empty or partial line (one being
 * written). A line without a namespace was written by a Gatehouse from before namespaces were
 * recorded, which does not beat, and is judged as before: by its pid.
 */
function holderOf(owner: string): Holder | undefined {
  const [pidText, started, namespace] = owner.split(' ');
  const pid = Number(pidText);
  return Number.isInteger(pid) && pid > 0 && started ? { pid, namespace: namespace ?? NAMESPACE, beats: namespace !== undefined } : undefined;
}

/**
 * Whether the holder a lock file names is gone. A holder that beats is gone once its beats
 * stopped, whatever its pid names now (reused by an unrelated process after a restart, or a
 * zombie). In this namespace, also when its pid is gone, or is this process's with another
 * start time (an earlier incarnation). This very process still holds it: opening the
 * directory twice would corrupt it just the same.
 */
function isStale({ owner, mtimeMs }: LockSeen): boolean {
  if (owner === SELF) return false;
  const holder = holderOf(owner);
  const silent = Date.now() - mtimeMs > STALE_AFTER_MS;
  if (holder === undefined || (holder.beats && silent)) return silent;
  if (holder.namespace !== NAMESPACE) return false;
  return holder.pid === process.pid || !pidAlive(holder.pid);
}

/** Creates `file` holding `content` unless it exists (O_CREAT | O_EXCL); returns its inode, or undefined when it existed. */
function createdExclusively(file: string, content: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644); // readable by all: an operator's CLI run as another user reads it
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
    throw err;
  }
  try {
    writeSync(fd, content);
    return fstatSync(fd).ino;
  } catch (err) {
    unlinkQuietly(file); // an empty file would be judged a partial line, holding others off for STALE_AFTER_MS
    throw err;
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/** Removes `file` if it is still the file with inode `ino`, not one created under its name since. */
function unlinkIfSame(file: string, ino: number): void {
  try {
    if (statSync(file).ino === ino) unlinkSync(file);
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
  let claimIno: number | undefined;
  for (let n = 1; ; n++) {
    claim = n === 1 ? `${file}.claim` : `${file}.claim.${n}`;
    claimIno = createdExclusively(claim, `${SELF}\n`);
    if (claimIno !== undefined) break;
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
  const claimedAt = performance.now();
  // By inode: once passed over and removed, its name may hold another claimer's new claim.
  const [ownClaim, ownIno] = [claim, claimIno];
  const dropClaim = () => unlinkIfSame(ownClaim, ownIno);
  try {
    const now = readLock(file);
    if (now?.owner !== seen.owner || !isStale(now)) {
      dropClaim();
      return 'changed';
    }
    // A claimer stalled this long (a paused VM, a swapped-out process) may have had its claim
    // passed over as a crashed one's, and the racer that passed it may hold the lock by now:
    // renaming would overwrite that racer's lock. Passing over takes STALE_AFTER_MS, six times
    // longer. A stall inside renameSync itself, after this check, is not covered.
    if (performance.now() - claimedAt > CLAIM_MAX_MS) {
      dropClaim();
      return 'busy';
    }
    renameSync(claim, file);
  } catch (err) {
    dropClaim(); // not left to hold others off until it is stale
    // Our claim was passed over and removed by the racer that took the lock: see who holds it.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'changed';
    throw err;
  }
  // Safe now: a process claiming one of these names finds the lock live and gives it up.
  crashedClaims.forEach(unlinkQuietly);
  return 'taken';
}

// Plain JavaScript evaluated in the worker: it needs no loader, whatever runs the main thread.
// It beats once on start-up (the lock's mtime is then as fresh as can be), then every interval.
const HEARTBEAT_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { closeSync, fstatSync, futimesSync, openSync, readFileSync } = require('node:fs');
const { file, owner, intervalMs, maxFailedBeats } = workerData;
let failedBeats = 0;
const timer = setInterval(beat, intervalMs);
beat();
function beat() {
  let fd;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    return err.code === 'ENOENT' ? lost(file + ' was removed') : failed(err);
  }
  try {
    const now = readFileSync(fd, 'utf8').trim();
    if (now !== owner) return lost(file + ' now names ' + JSON.stringify(now));
    const ms = Date.now();
    futimesSync(fd, ms / 1000, ms / 1000); // this very file: never a successor's
    // A file system may accept the call and keep no time (or a coarse one: FAT's is 2 s).
    if (Math.abs(fstatSync(fd).mtimeMs - ms) > intervalMs) throw new Error('its mtime did not change');
    failedBeats = 0;
  } catch (err) {
    failed(err);
  } finally {
    closeSync(fd);
  }
}
// Others see a lock that misses beats as stale: a passing error (EIO, ...) is retried once.
function failed(err) {
  if (++failedBeats >= maxFailedBeats) lost(file + ' could not be refreshed ' + failedBeats + ' times in a row (' + err.message + ')');
}
function lost(reason) {
  clearInterval(timer);
  parentPort.postMessage(reason);
}
`;

/**
 * What a holder does once its lock is lost, given why. Another process may have the database
 * open by then, so the default stops this one at once: with status 1, and without closing
 * PGlite, which would write a checkpoint over the other's files.
 */
export type OnLockLost = (message: string) => void;

function exitAtOnce(message: string): never {
  // Written directly: a warning is printed on a later tick, which never comes.
  writeSync(2, `gatehouse: ${message}; exiting at once (${LOCK_LOST_WARNING})\n`);
  process.exit(1);
}

/**
 * Refreshes the lock file's mtime from a worker thread: PGlite runs each query on the main
 * thread, so a long one (a migration, a large purge) blocks the event loop for seconds, and
 * a beat missed then would let another container take the lock. Returns its stop.
 * The loss is reacted to on the main thread, so only once a query in progress has returned.
 */
function startHeartbeat(dataDir: string, file: string, onLost: OnLockLost): () => Promise<void> {
  let stopped = false;
  const worker = new Worker(HEARTBEAT_WORKER, {
    eval: true,
    workerData: { file, owner: SELF, intervalMs: HEARTBEAT_MS, maxFailedBeats: MAX_FAILED_BEATS },
  });
  const lost = (reason: string) => {
    if (stopped) return;
    stopped = true;
    const message = `the lock on the embedded database in ${dataDir} is lost: ${reason}; another process may open it too`;
    process.emitWarning(message, { code: LOCK_LOST_WARNING });
    onLost(message);
  };
  worker.on('message', lost);
  worker.on('error', (err) => lost(`its heartbeat stopped (${err.message})`));
  worker.unref(); // the heartbeat never keeps the process alive; after on('message'), which refs it again
  return async () => {
    stopped = true;
    await worker.terminate();
  };
}

type Attempt = { outcome: 'taken' | 'busy' | 'changed' } | { outcome: 'held'; seen: LockSeen };

/** Creates the lock, or takes it over if stale; else the live lock seen. */
function tryTake(file: string): Attempt {
  if (createdExclusively(file, `${SELF}\n`) !== undefined) return { outcome: 'taken' };
  const seen = readLock(file);
  if (seen === undefined) return { outcome: 'changed' }; // removed meanwhile
  return isStale(seen) ? { outcome: takeOver(file, seen) } : { outcome: 'held', seen };
}

export interface LockOptions {
  /** Called once the lock is found lost (replaced, removed, or no longer refreshed); the default exits. */
  onLost?: OnLockLost;
}

/**
 * Takes the lock on `dataDir`; resolves with its release. Throws DataDirLockedError.
 * A fresh lock from another namespace is watched until it beats (held: refused) or ages
 * past STALE_AFTER_MS (taken over), so a container restarted right after a crash starts.
 */
export async function lockDataDir(dataDir: string, { onLost = exitAtOnce }: LockOptions = {}): Promise<() => Promise<void>> {
  const file = join(dataDir, LOCK_FILE);
  // Long enough to watch a lock age out and then a claim left by a crashed claimer.
  const deadline = Date.now() + 3 * STALE_AFTER_MS;
  let watched: LockSeen | undefined;
  while (Date.now() < deadline) {
    const attempt = tryTake(file);
    if (attempt.outcome === 'taken') {
      const release = hold(dataDir, file, onLost);
      if (release) return release;
    }
    if (attempt.outcome === 'busy') await sleep(50);
    if (attempt.outcome !== 'held') continue;
    const { seen } = attempt;
    const holder = holderOf(seen.owner);
    if (holder?.namespace === NAMESPACE) throw new DataDirLockedError(dataDir, holder.pid);
    if (holder && watched?.owner === seen.owner && seen.mtimeMs > watched.mtimeMs) {
      throw new DataDirLockedError(dataDir, holder.pid, true);
    }
    if (watched?.owner !== seen.owner) watched = seen;
    await sleep(holder ? 250 : 50); // a line being written comes soon
  }
  throw new DataDirLockedError(dataDir, undefined);
}

/**
 * Holds the lock just taken, if the file still names this process (another racer's rename
 * may have replaced it); undefined if not. Its mtime is refreshed at once: it is the claim's,
 * which may be nearly CLAIM_MAX_MS old, and the first beat comes only once the worker started.
 */
function hold(dataDir: string, file: string, onLost: OnLockLost): (() => Promise<void>) | undefined {
  const taken = readLock(file, SELF);
  if (taken?.owner !== SELF) return undefined;
  // By inode: once this process stopped beating, a successor may replace the file at any time.
  const removeIfOurs = () => {
    const now = readLock(file);
    if (now?.owner === SELF && now.ino === taken.ino) unlinkIfSame(file, taken.ino);
  };
  let stopHeartbeat: () => Promise<void>;
  try {
    stopHeartbeat = startHeartbeat(dataDir, file, onLost);
  } catch (err) {
    removeIfOurs(); // not left naming this process, which would then refuse itself
    throw err;
  }
  return async () => {
    await stopHeartbeat();
    removeIfOurs();
  };
}
