// Random secrets and their stored form. Secrets are compared only through their SHA-256
// digests, looked up by primary key, so no comparison runs over attacker-chosen prefixes.
import { hash, randomBytes } from 'node:crypto';

export type RefreshTokenFormat = 'base64url-256' | 'hex-512';

/**
 * Random bytes from the CSPRNG, drawn in 4 KiB at a time and handed out once each, as Node's
 * own randomUUID() does: a refresh makes two draws (the new token and the access token's
 * jti), and each randomBytes() call has a fixed cost that was 4 % of a refresh's CPU. A new
 * buffer is drawn when one runs out, never refilled in place, so no bytes are ever handed out
 * twice.
 */
class RandomPool {
  #bytes = Buffer.alloc(0);
  #used = 0;

  take(n: number): Buffer {
    if (this.#used + n > this.#bytes.length) {
      this.#bytes = randomBytes(Math.max(4096, n));
      this.#used = 0;
    }
    const out = this.#bytes.subarray(this.#used, this.#used + n);
    this.#used += n;
    return out;
  }
}

const pool = new RandomPool();

/** An opaque refresh token: 256 bits as base64url (43 chars) or 512 bits as hex (128 chars). */
export function newRefreshToken(format: RefreshTokenFormat): string {
  return format === 'hex-512' ? pool.take(64).toString('hex') : pool.take(32).toString('base64url');
}

/**
 * Session ids and token ids: 128 random bits, in hex, so that an id never looks like a
 * command-line option or needs escaping anywhere.
 */
export function newId(): string {
  return pool.take(16).toString('hex');
}

/** One-shot hashing: about a third of the cost of createHash().update().digest() per call. */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}
