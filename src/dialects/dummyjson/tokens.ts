// What this dialect's access tokens look like: the standard claims plus the original's
// profile claims {id, username, email, firstName, lastName, gender, image}. No secrets.
import type { IssuedRefresh } from '../../core/sessions.js';
import type { Services } from '../../services.js';
import { DialectError } from '../../http/http-errors.js';
import { MESSAGES } from './errors.js';
import { dummyjsonPolicy, MAX_EXPIRES_IN_MINS } from './policy.js';
import { publicFields } from './profile.js';

export const DEFAULT_EXPIRES_IN_MINS = 60;

/**
 * expiresInMins as sent: a number from JSON (range already checked by the validator) or a
 * decimal string from a form (pattern checked, range checked here). Absent: 60.
 */
export function parseExpiresInMins(raw: unknown): number {
  if (raw === undefined) return DEFAULT_EXPIRES_IN_MINS;
  const mins = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
  if (!Number.isFinite(mins) || mins < 1 || mins > MAX_EXPIRES_IN_MINS) throw new DialectError(400, MESSAGES.invalidExpiresInMins);
  return mins;
}

export async function issueAccessToken(s: Services, issued: IssuedRefresh, expiresInMins: number) {
  return s.tokens.signForSession(issued, dummyjsonPolicy, expiresInMins * 60, publicFields(issued.user));
}

export function secondsUntil(s: Services, at: number): number {
  return Math.max(0, Math.round((at - s.clock.now()) / 1000));
}
