// Rate-limit counters in PostgreSQL (table rate_limits, migration 0004), shared by every
// instance on the server, through rate-limiter-flexible's RateLimiterPostgres.
//
// The counters have a small connection pool of their own. Sessions.rotate counts a refresh
// while it holds a transaction on the main pool; were the counter queries to wait for that
// same pool, ten concurrent refreshes could each hold a connection and wait forever for an
// eleventh.
//
// When the server cannot be reached (or answers slower than STORE_TIMEOUT_MS), each bucket
// falls back to an in-memory limiter with the same limits (rate-limiter-flexible's insurance
// limiter): limits stay on, but per instance, until the server is back. Failing closed would
// buy nothing: a login needs the database anyway, and refusing every refresh during a
// blip would log everyone out. Failing open would make every outage an open door for guessing.
import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres } from 'rate-limiter-flexible';
import type { RateLimit } from '../config.js';
import type { LimiterFactory, RateLimitBucket } from '../core/rate-limits.js';

export const RATE_LIMIT_TABLE = 'rate_limits';
const STORE_TIMEOUT_MS = 1_000;
const SWEEP_EVERY_MS = 60_000;

export class SharedRateLimitStore {
  readonly #pool: pg.Pool;
  readonly #sweeper: NodeJS.Timeout;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#sweeper = setInterval(() => void this.sweep().catch(() => undefined), SWEEP_EVERY_MS).unref();
  }

  static open(url: string): SharedRateLimitStore {
    const pool = new pg.Pool({
      connectionString: url,
      max: 4,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: STORE_TIMEOUT_MS,
      query_timeout: STORE_TIMEOUT_MS,
      // A counter need not survive a server crash (losing the last few milliseconds of
      // attempts only forgives them), so its writes do not wait for the WAL flush: without
      // this, a refresh waits for three commits, two of them counters (docs/performance.md).
      options: '-c synchronous_commit=off',
    });
    // A connection dropped while idle (server restart) is replaced on next use; without a
    // listener the pool's error event would end the process.
    pool.on('error', () => undefined);
    return new SharedRateLimitStore(pool);
  }

  readonly limiters: LimiterFactory = (bucket: RateLimitBucket, limit: RateLimit) =>
    new RateLimiterPostgres({
      storeClient: this.#pool,
      storeType: 'pool',
      tableName: RATE_LIMIT_TABLE,
      tableCreated: true, // by our migration, not at run time by the library
      clearExpiredByTimeout: false, // sweep() below, once per process instead of per bucket
      keyPrefix: bucket,
      points: limit.points,
      duration: limit.durationS,
      insuranceLimiter: new RateLimiterMemory({ points: limit.points, duration: limit.durationS }),
    });

  /**
   * Deletes every counter whose window has ended (such a row counts for nothing: the next
   * attempt starts a new window). Keeps the table as small as the keys of one window, however
   * many distinct usernames are tried. Every instance sweeps; the deletes are idempotent.
   */
  async sweep(now = Date.now()): Promise<number> {
    const result = await this.#pool.query(`DELETE FROM ${RATE_LIMIT_TABLE} WHERE expire <= $1`, [now]);
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    if (!this.#pool.ended) await this.#pool.end();
  }
}
