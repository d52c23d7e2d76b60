// Fixed-window rate limits per client IP and per account, on every credential-checking
// route, backed by rate-limiter-flexible. Failed logins count per account twice: from each
// client network, and from all of them together (see consumeAccountAttempt). Where the
// counters live is the composition root's choice (a LimiterFactory): in this process's memory
// on the embedded database (one process), in PostgreSQL on a database server, so that every
// instance counts against the same limits.
//
// Keys are hashed before they reach any store: the counters never hold a username, email or
// IP address in clear, and every key has the same small size however long the login was.
import { isIP } from 'node:net';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RateLimit } from '../config.js';
import { RateLimitedError } from './errors.js';
import { ignoreAuthEvents, type AuthEvents } from './events.js';
import { sha256Hex } from './secrets.js';

export type RateLimitBucket = 'login:ip' | 'login:account' | 'login:account-total' | 'refresh:ip' | 'refresh:account';

export interface RateLimitSettings {
  enabled: boolean;
  loginPerIp: RateLimit;
  /** Failed logins per account from one client network (see clientNetwork). */
  loginPerAccount: RateLimit;
  /** Failed logins per account from every network together. */
  loginPerAccountTotal: RateLimit;
  refreshPerIp: RateLimit;
  refreshPerAccount: RateLimit;
}

/** The part of a rate-limiter-flexible limiter used here; rejects with RateLimiterRes when full. */
export interface Limiter {
  consume(key: string, points: number): Promise<unknown>;
  reward(key: string, points: number): Promise<unknown>;
}

export type LimiterFactory = (bucket: RateLimitBucket, limit: RateLimit) => Limiter;

/**
 * Counters in this process's memory; each key is forgotten when its window ends, and so is
 * any refund that comes after: rate-limiter-flexible would keep it as a count below zero, and
 * the next window would allow more attempts than its limit.
 */
export function memoryLimiter(limit: RateLimit): Limiter {
  const limiter = new RateLimiterMemory({ points: limit.points, duration: limit.durationS });
  return {
    consume: (key, points) => limiter.consume(key, points),
    reward: async (key, points) => {
      const counted = (await limiter.get(key))?.consumedPoints ?? 0;
      return counted > 0 ? limiter.reward(key, Math.min(points, counted)) : undefined;
    },
  };
}

export const inMemoryLimiters: LimiterFactory = (_bucket, limit) => memoryLimiter(limit);

export class RateLimits {
  readonly #limiters: Map<RateLimitBucket, Limiter> | undefined;
  /** Each bucket's limit, to tell the first refusal of a window from the ones after it. */
  readonly #points = new Map<RateLimitBucket, number>();
  readonly #events: AuthEvents;

  constructor(settings: RateLimitSettings, opts: { limiters?: LimiterFactory; events?: AuthEvents } = {}) {
    this.#events = opts.events ?? ignoreAuthEvents;
    if (!settings.enabled) return;
    const factory = opts.limiters ?? inMemoryLimiters;
    const make = (bucket: RateLimitBucket, limit: RateLimit) => {
      this.#points.set(bucket, limit.points);
      return factory(bucket, limit);
    };
    this.#limiters = new Map([
      ['login:ip', make('login:ip', settings.loginPerIp)],
      ['login:account', make('login:account', settings.loginPerAccount)],
      ['login:account-total', make('login:account-total', settings.loginPerAccountTotal)],
      ['refresh:ip', make('refresh:ip', settings.refreshPerIp)],
      ['refresh:account', make('refresh:account', settings.refreshPerAccount)],
    ]);
  }

  /**
   * Counts one attempt; throws RateLimitedError when the bucket is already full.
   * `unreported`: a refusal is not reported to the events (metrics), for a caller that answers
   * it exactly like another failure: reporting it would tell a metrics reader what the answer
   * hides (see PasswordLogin).
   */
  async consume(bucket: RateLimitBucket, key: string, opts: { unreported?: boolean } = {}): Promise<void> {
    const limiter = this.#limiters?.get(bucket);
    if (!limiter) return;
    try {
      await limiter.consume(counterKey(bucket, key), 1);
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res;
      if (!opts.unreported) this.#events.rateLimited(bucket);
      throw new RateLimitedError(Math.max(1, Math.ceil(res.msBeforeNext / 1000)), res.consumedPoints === this.#points.get(bucket)! + 1);
    }
  }

  /**
   * Counts one password attempt on a user account from a client address, in two buckets:
   * `login:account` per account *and client network*, `login:account-total` per account from
   * every network. Throws RateLimitedError when either is full.
   *
   * Why two: with one counter per account, one address sending a few wrong passwords a minute
   * would keep the account's owner locked out from everywhere (OWASP Authentication Cheat
   * Sheet: lockout as denial of service). Now an address can only use up the attempts of its
   * own network; the owner elsewhere still logs in. The total, set well above the per-network
   * limit (ten times by default), still bounds guessing from many networks at once, and
   * locking an owner out everywhere takes that many networks at once.
   *
   * An attempt refused by one of the two is given back to the other: one refused by its
   * network's limit to the total, so that a single network past its limit adds nothing to it
   * however many attempts it sends; one refused by the total to its network, so that an owner
   * retrying while the total is full does not also use up their own network's attempts for
   * the next window. Both counts go out together (one statement on a shared store; see
   * SharedRateLimitStore), and a give-back travels with a later count, so for a few
   * milliseconds the other counter is one too high: a stricter limit, never a looser one.
   */
  async consumeAccountAttempt(account: string, ip: string, opts: { unreported?: boolean } = {}): Promise<void> {
    const networkKey = accountFromNetwork(account, ip);
    const [fromNetwork, total] = await Promise.allSettled([
      this.consume('login:account', networkKey, opts),
      this.consume('login:account-total', account, opts),
    ]);
    if (fromNetwork.status === 'rejected' && total.status === 'fulfilled') void this.refund('login:account-total', account);
    if (total.status === 'rejected' && fromNetwork.status === 'fulfilled') void this.refund('login:account', networkKey);
    if (fromNetwork.status === 'rejected' && total.status === 'rejected') {
      // Both full: the attempt is the first refused of this window if it is either count's.
      const [network, all] = [fromNetwork.reason as unknown, total.reason as unknown];
      if (network instanceof RateLimitedError && all instanceof RateLimitedError && all.firstInWindow && !network.firstInWindow) {
        throw new RateLimitedError(network.retryAfterS, true);
      }
    }
    if (fromNetwork.status === 'rejected') throw fromNetwork.reason;
    if (total.status === 'rejected') throw total.reason;
  }

  /** Gives back an attempt counted by consumeAccountAttempt (see refund). */
  async refundAccountAttempt(account: string, ip: string): Promise<void> {
    await Promise.all([this.refund('login:account', accountFromNetwork(account, ip)), this.refund('login:account-total', account)]);
  }

  /**
   * Gives one attempt back: a successful login does not count against its account. Resolves
   * once stored, but callers need not wait: a shared store may hold it for its next count.
   * Never rejects; a refund that could not be stored only leaves the limit stricter.
   */
  async refund(bucket: RateLimitBucket, key: string): Promise<void> {
    await this.#limiters
      ?.get(bucket)
      ?.reward(counterKey(bucket, key), 1)
      .catch(() => undefined);
  }
}

/**
 * The account key of a user's password attempts, by login or password change (per network and
 * in all: consumeAccountAttempt). Email changes count on the same key alone, without a
 * network: a counter of their own in the same bucket (see Accounts.update).
 */
export function userAccount(userId: number): string {
  return `user:${userId}`;
}

/** The key of an account's attempts from one client network (see clientNetwork). */
export function accountFromNetwork(account: string, ip: string): string {
  return `${account}@${clientNetwork(ip)}`;
}

function counterKey(bucket: RateLimitBucket, key: string): string {
  return sha256Hex(bucket.endsWith(':ip') ? clientNetwork(key) : key);
}

/** The one key of every client address that is not an IP address (see clientNetwork). */
export const UNPARSABLE_ADDRESS = 'unparsable';

/**
 * The network a client address counts as for per-IP limits: an IPv4 address itself (also
 * when written as IPv4-mapped IPv6), an IPv6 address's /64. One subscriber, host or VM
 * usually gets a whole /64 and can pick any of its 2^64 addresses, so counting single IPv6
 * addresses would give an attacker unlimited fresh counters.
 *
 * Behind a trusted proxy the address is an X-Forwarded-For entry, which Express passes on as
 * written: a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`), brackets or a zone index are
 * dropped, and anything that is then not an IP address counts as one and the same client, so
 * that neither changing ports nor junk buys fresh counters.
 */
export function clientNetwork(raw: string): string {
  const ip = plainAddress(raw);
  if (ip === undefined) return UNPARSABLE_ADDRESS;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (isIP(ip) === 4) return ip;
  const address = ip.toLowerCase();
  const [head = '', tail] = address.split('::', 2) as [string, string | undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const full = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${full
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The IP address in `raw` without port, brackets or zone index; undefined when there is none. */
function plainAddress(raw: string): string | undefined {
  let address = raw.trim();
  const bracketed = /^\[([^\]]*)\](?::\d{1,5})?$/.exec(address);
  const v4WithPort = /^(\d{1,3}(?:\.\d{1,3}){3}):\d{1,5}$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (v4WithPort) address = v4WithPort[1]!;
  address = address.replace(/%.*$/, ''); // a zone index (fe80::1%eth0) names a local interface
  return isIP(address) ? address : undefined;
}
