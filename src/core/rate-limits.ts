// Fixed-window rate limits per client IP and per account, on every credential-checking
// route, backed by rate-limiter-flexible. Where the counters live is the composition root's
// choice (a LimiterFactory): in this process's memory on the embedded database (one process),
// in PostgreSQL on a database server, so that every instance counts against the same limits.
//
// Keys are hashed before they reach any store: the counters never hold a username, email or
// IP address in clear, and every key has the same small size however long the login was.
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit } from '../config.js';
import { RateLimitedError } from './errors.js';
import { ignoreAuthEvents, type AuthEvents } from './events.js';
import { sha256Hex } from './secrets.js';

export type RateLimitBucket = 'login:ip' | 'login:account' | 'refresh:ip' | 'refresh:account';

export interface RateLimitSettings {
  enabled: boolean;
  loginPerIp: RateLimit;
  loginPerAccount: RateLimit;
  refreshPerIp: RateLimit;
  refreshPerAccount: RateLimit;
}

/** The part of a rate-limiter-flexible limiter used here; rejects with RateLimiterRes when full. */
export interface Limiter {
  consume(key: string, points: number): Promise<unknown>;
  reward(key: string, points: number): Promise<unknown>;
}

export type LimiterFactory = (bucket: RateLimitBucket, limit: RateLimit) => Limiter;

/** Counters in this process's memory; each key is forgotten when its window ends. */
export const inMemoryLimiters: LimiterFactory = (_bucket, limit) =>
  new RateLimiterMemory({ points: limit.points, duration: limit.durationS });

export class RateLimits {
  readonly #limiters: Map<RateLimitBucket, Limiter> | undefined;
  readonly #events: AuthEvents;

  constructor(settings: RateLimitSettings, opts: { limiters?: LimiterFactory; events?: AuthEvents } = {}) {
    this.#events = opts.events ?? ignoreAuthEvents;
    if (!settings.enabled) return;
    const make = opts.limiters ?? inMemoryLimiters;
    this.#limiters = new Map([
      ['login:ip', make('login:ip', settings.loginPerIp)],
      ['login:account', make('login:account', settings.loginPerAccount)],
      ['refresh:ip', make('refresh:ip', settings.refreshPerIp)],
      ['refresh:account', make('refresh:account', settings.refreshPerAccount)],
    ]);
  }

  /** Counts one attempt; throws RateLimitedError when the bucket is already full. */
  async consume(bucket: RateLimitBucket, key: string): Promise<void> {
    const limiter = this.#limiters?.get(bucket);
    if (!limiter) return;
    try {
      await limiter.consume(sha256Hex(key), 1);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      this.#events.rateLimited(bucket);
      throw new RateLimitedError(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
    }
  }

  /** Gives one attempt back: a successful login does not count against its account. */
  async refund(bucket: RateLimitBucket, key: string): Promise<void> {
    await this.#limiters?.get(bucket)?.reward(sha256Hex(key), 1);
  }
}
