// Random secrets and their stored form. Secrets are compared only through their SHA-256
// digests, looked up by primary key, so no comparison runs over attacker-chosen prefixes.
import { createHash, randomBytes } from 'node:crypto';

export type RefreshTokenFormat = 'base64url-256' | 'hex-512';

/** An opaque refresh token: 256 bits as base64url (43 chars) or 512 bits as hex (128 chars). */
export function newRefreshToken(format: RefreshTokenFormat): string {
  return format === 'hex-512' ? randomBytes(64).toString('hex') : randomBytes(32).toString('base64url');
}

/**
 * Session ids and token ids: 128 random bits, in hex. Not base64url: one id in 64 would then
 * start with "-", and an administrator who pastes it into `gatehouse sessions revoke` would
 * have it taken for an option.
 */
export function newId(): string {
  return randomBytes(16).toString('hex');
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
