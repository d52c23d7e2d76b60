// Fixed-window rate limits per client IP and per account, on every credential-checking
// route. Backed by rate-limiter-flexible; its memory store forgets a key when its window
// ends, so many distinct usernames cost memory only for one window.
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit } from '../config.js';
import { RateLimitedError } from './errors.js';

export type RateLimitBucket = 'login:ip' | 'login:account' | 'refresh:ip' | 'refresh:account';

export interface RateLimitSettings {
  enabled: boolean;
  loginPerIp: RateLimit;
  loginPerAccount: RateLimit;
  refreshPerIp: RateLimit;
  refreshPerAccount: RateLimit;
}

export class RateLimits {
  readonly #limiters: Map<RateLimitBucket, RateLimiterMemory> | undefined;

  constructor(settings: RateLimitSettings) {
    if (!settings.enabled) return;
    const make = (l: RateLimit) => new RateLimiterMemory({ points: l.points, duration: l.durationS });
    this.#limiters = new Map([
      ['login:ip', make(settings.loginPerIp)],
      ['login:account', make(settings.loginPerAccount)],
      ['refresh:ip', make(settings.refreshPerIp)],
      ['refresh:account', make(settings.refreshPerAccount)],
    ]);
  }

  /** Counts one attempt; throws RateLimitedError when the bucket is already full. */
  async consume(bucket: RateLimitBucket, key: string): Promise<void> {
    const limiter = this.#limiters?.get(bucket);
    if (!limiter) return;
    try {
      await limiter.consume(key, 1);
    } catch (res) {
      if (res instanceof RateLimiterRes) throw new RateLimitedError(Math.max(1, Math.ceil(res.msBeforeNext / 1000)));
      throw res;
    }
  }

  /** Gives one attempt back: a successful login does not count against its account. */
  async refund(bucket: RateLimitBucket, key: string): Promise<void> {
    await this.#limiters?.get(bucket)?.reward(key, 1);
  }
}
