// Rate-limit counters in PostgreSQL (table rate_limits, migration 0005), shared by every
// instance on the server, in the layout of rate-limiter-flexible's RateLimiterPostgres
// (`<bucket>:<key>`, `points`, `expire` in epoch milliseconds) and with its fixed-window rule.
//
// The counting itself is ours, not the library's, for one reason: the library sends one
// upsert per attempt, and on a refresh or a client_credentials grant those upserts were most
// of the database work (docs/performance.md). Here the attempts that arrive in the same turn
// of the event loop go out as one upsert of every key they touch, each key's attempts summed.
// Every attempt still gets its own exact position in its window, as if counted alone: the
// statement returns each key's total, and the attempts of the batch are numbered up to it in
// the order they were asked. The library's in-memory limiter stays the fallback.
//
// The counters have a small connection pool of their own. Sessions.rotate counts a refresh
// while it holds a transaction on the main pool; were the counter queries to wait for that
// same pool, ten concurrent refreshes could each hold a connection and wait forever for an
// eleventh.
//
// When the server cannot be reached (or answers slower than STORE_TIMEOUT_MS), each bucket
// falls back to an in-memory limiter with the same limits (as rate-limiter-flexible's
// insurance limiter does): limits stay on, but per instance, until the server is back. Each
// attempt counted that way is reported (onFallback: a metric), so that operators see when
// limits have quietly become per instance. Refunds are not: which ones happen depends on the
// account (the spellings of a real account share its counters, an unknown login's do not;
// see RateLimits.consumeAccountAttempt), so counting them would tell a metrics reader which
// accounts exist, and the attempts already show the outage.
// Failing closed would buy nothing: a login needs the database anyway, and refusing every
// refresh during a blip would log everyone out. Failing open would make every outage an open
// door for guessing.
import pg from 'pg';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit } from '../config.js';
import { memoryLimiter, type Limiter, type LimiterFactory, type RateLimitBucket } from '../core/rate-limits.js';
import { NextTurn } from './next-turn.js';

export const RATE_LIMIT_TABLE = 'rate_limits';
const STORE_TIMEOUT_MS = 1_000;
const SWEEP_EVERY_MS = 60_000;
const SWEEP_CHUNK = 5_000;
/**
 * How long a refund may wait for a count to travel with. A refund only ever makes a limit
 * looser, so it can be a few milliseconds late; under load the next login's count comes
 * sooner, and a successful login costs one statement fewer (docs/performance.md).
 */
const REFUND_WAIT_MS = 25;

export class SharedRateLimitStore {
  readonly #pool: pg.Pool;
  readonly #sweeper: NodeJS.Timeout;

  readonly #counts: CountBatcher;
  readonly #onFallback: (bucket: RateLimitBucket) => void;

  private constructor(pool: pg.Pool, onFallback: (bucket: RateLimitBucket) => void) {
    this.#pool = pool;
    this.#onFallback = onFallback;
    this.#counts = new CountBatcher(pool);
    this.#sweeper = setInterval(() => void this.sweep().catch(() => undefined), SWEEP_EVERY_MS).unref();
  }

  /** `onFallback` hears of every attempt counted in memory because the server failed (not of refunds: see above). */
  static open(url: string, opts: { onFallback?: (bucket: RateLimitBucket) => void } = {}): SharedRateLimitStore {
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: STORE_TIMEOUT_MS,
      // The server gives up too: a client that stops waiting leaves its statement running (and
      // waiting for a lock, if that was the delay), so each timeout would leave a backend behind,
      // a new one per second, and the late counts would commit after the in-memory ones.
      statement_timeout: STORE_TIMEOUT_MS,
      lock_timeout: STORE_TIMEOUT_MS,
      query_timeout: STORE_TIMEOUT_MS + 500,
      // A counter need not survive a server crash (losing the last few milliseconds of
      // attempts only forgives them), so its writes do not wait for the WAL flush: without
      // this, a refresh waits for three commits, two of them counters (docs/performance.md).
      options: '-c synchronous_commit=off',
    });
    // A connection dropped while idle (server restart) is replaced on next use; without a
    // listener the pool's error event would end the process.
    pool.on('error', () => undefined);
    return new SharedRateLimitStore(pool, opts.onFallback ?? (() => undefined));
  }

  readonly limiters: LimiterFactory = (bucket: RateLimitBucket, limit: RateLimit) =>
    new SharedLimiter(this.#counts, bucket, limit, () => this.#onFallback(bucket));

  /**
   * Deletes every counter whose window has ended (such a row counts for nothing: the next
   * attempt starts a new window). Keeps the table as small as the keys of one window, however
   * many distinct usernames are tried. Every instance sweeps; the deletes are idempotent.
   */
  async sweep(now = Date.now()): Promise<number> {
    // In chunks, each far inside the store's statement timeout however many rows expired. The
    // outer `expire <= $1` is checked again on a row a count renewed meanwhile, which stays.
    let deleted = 0;
    for (;;) {
      const result = await this.#pool.query(
        `DELETE FROM ${RATE_LIMIT_TABLE} WHERE key IN (SELECT key FROM ${RATE_LIMIT_TABLE} WHERE expire <= $1 LIMIT $2) AND expire <= $1`,
        [now, SWEEP_CHUNK],
      );
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < SWEEP_CHUNK) return deleted;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    await this.#counts.close();
    if (!this.#pool.ended) await this.#pool.end();
  }
}

/** One attempt waiting for its batch: what it adds, and where it learns its count. */
interface PendingCount {
  points: number;
  resolve: (count: { points: number; expire: number }) => void;
  reject: (err: unknown) => void;
}

/**
 * Each key's sum of attempts (refunds negative) is added to its count, or starts a new window
 * when the stored one has ended. No count goes below zero: a refund that arrives after its
 * window ended gives nothing back, instead of starting the next window below zero (which
 * would allow more attempts than the limit). A refund-only key without a row stores zero.
 * (A late refund in the same batch as a new window's first attempt still cancels that one
 * attempt: at most one per refund, and only within REFUND_WAIT_MS of the window's end.)
 */
const UPSERT_COUNTS = `WITH b AS (SELECT * FROM unnest($1::text[], $2::int[], $3::bigint[]) AS b(key, points, expire))
  INSERT INTO ${RATE_LIMIT_TABLE} AS r (key, points, expire)
  SELECT key, GREATEST(points, 0), expire FROM b
  ON CONFLICT (key) DO UPDATE SET
    points = GREATEST(CASE WHEN r.expire <= $4 THEN 0 ELSE r.points END + (SELECT b.points FROM b WHERE b.key = r.key), 0),
    expire = CASE WHEN r.expire <= $4 THEN excluded.expire ELSE r.expire END
  RETURNING key, points, expire`;

/**
 * Sums the attempts asked for in one turn of the event loop into one upsert. Refunds do not
 * ask for a statement of their own: they go out with the next batch, or after REFUND_WAIT_MS.
 */
class CountBatcher {
  #pending = new Map<string, { windowMs: number; counts: PendingCount[] }>();
  readonly #turn = new NextTurn(() => this.#send());
  #refundTimer: NodeJS.Timeout | undefined;
  #inFlight = new Set<Promise<unknown>>();
  #closed = false;

  constructor(private readonly pool: pg.Pool) {}

  /** Adds `points` (negative: gives back) to `key`; resolves with the key's count after it, and the window's end. */
  add(key: string, points: number, windowMs: number): Promise<{ points: number; expire: number }> {
    const counted = this.#enqueue(key, points, windowMs);
    this.#turn.schedule();
    return counted;
  }

  /** Like add, but sent with the next batch rather than right away; resolves once stored. */
  addLater(key: string, points: number, windowMs: number): Promise<{ points: number; expire: number }> {
    if (this.#closed) return Promise.reject(new Error('the rate-limit store is closed'));
    const counted = this.#enqueue(key, points, windowMs);
    // Unref'd: a refund never keeps the process alive (close() sends what waits).
    this.#refundTimer ??= setTimeout(() => this.#turn.schedule(), REFUND_WAIT_MS).unref();
    return counted;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends whatever waits and resolves when every batch sent so far has been answered. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#pending.size > 0) this.#send();
    await Promise.allSettled([...this.#inFlight]);
  }

  #enqueue(key: string, points: number, windowMs: number): Promise<{ points: number; expire: number }> {
    return new Promise((resolve, reject) => {
      const entry = this.#pending.get(key);
      if (entry) entry.counts.push({ points, resolve, reject });
      else this.#pending.set(key, { windowMs, counts: [{ points, resolve, reject }] });
    });
  }

  #send(): void {
    clearTimeout(this.#refundTimer);
    this.#refundTimer = undefined;
    if (this.#pending.size === 0) return; // flushed already
    const batch = this.#pending;
    this.#pending = new Map();
    const now = Date.now();
    const keys: string[] = [];
    const sums: number[] = [];
    const expires: number[] = [];
    const sumOf = new Map<string, number>();
    // Keys in one order in every statement, so that two batches in flight (on this instance or
    // another) lock their common rows in the same order and never deadlock.
    for (const key of [...batch.keys()].sort()) {
      const { windowMs, counts } = batch.get(key)!;
      const sum = counts.reduce((total, c) => total + c.points, 0);
      keys.push(key);
      sums.push(sum);
      expires.push(now + windowMs);
      sumOf.set(key, sum);
    }
    const answer = (key: string, total: number, expire: number) => {
      const { counts } = batch.get(key)!;
      batch.delete(key);
      // The batch's attempts took the counts just below the total, in the order asked.
      let points = total - sumOf.get(key)!;
      for (const c of counts) {
        points += c.points;
        c.resolve({ points, expire });
      }
    };
    const fail = (err: unknown) => {
      for (const { counts } of batch.values()) for (const c of counts) c.reject(err);
    };
    const answered = this.pool
      .query<{ key: string; points: number; expire: string }>({ name: 'gatehouse_rate_limit_counts', text: UPSERT_COUNTS, values: [keys, sums, expires, now] })
      .then(
        (result) => {
          for (const row of result.rows) answer(row.key, row.points, Number(row.expire));
          // An upsert answers every key; should one be missing, its attempts fall back rather than hang.
          fail(new Error('rate-limit count missing from the answer'));
        },
        fail,
      );
    this.#inFlight.add(answered);
    void answered.finally(() => this.#inFlight.delete(answered));
  }
}

/** One bucket's limit over the shared counters, with an in-memory limiter for when the server is away. */
class SharedLimiter implements Limiter {
  readonly #insurance: Limiter;

  constructor(
    private readonly counts: CountBatcher,
    private readonly bucket: RateLimitBucket,
    private readonly limit: RateLimit,
    private readonly fellBack: () => void,
  ) {
    this.#insurance = memoryLimiter(limit);
  }

  async consume(key: string, points: number): Promise<unknown> {
    let count;
    try {
      count = await this.counts.add(`${this.bucket}:${key}`, points, this.limit.durationS * 1000);
    } catch {
      if (!this.counts.closed) this.fellBack(); // not a failure of the server: this instance is stopping
      return this.#insurance.consume(key, points);
    }
    const msBeforeNext = Math.max(0, count.expire - Date.now());
    const res = new RateLimiterRes(Math.max(0, this.limit.points - count.points), msBeforeNext, count.points);
    if (count.points > this.limit.points) throw res;
    return res;
  }

  async reward(key: string, points: number): Promise<unknown> {
    try {
      return await this.counts.addLater(`${this.bucket}:${key}`, -points, this.limit.durationS * 1000);
    } catch {
      // Not reported: see the top of this file.
      return this.#insurance.reward(key, points);
    }
  }
}
