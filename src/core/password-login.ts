// Password login, the same for every dialect: the address's rate limit before any hashing (so
// a flood costs no argon2 work), then exactly one argon2id verification whether or not the
// user exists, and one answer for every kind of failure, so neither the body, the status nor
// the time tells an attacker which usernames exist.
import { noAuditTrail, type AuditTrail } from './audit.js';
import type { Clock } from './clock.js';
import { ErrorCode, GatehouseError, RateLimitedError } from './errors.js';
import type { PasswordHasher } from './passwords.js';
import { type RateLimits, userAccount } from './rate-limits.js';
import type { ClientInfo } from './sessions.js';
import { normalizeLogin, USERNAME_ONLY, type LoginIdentifiers, type User, type UserWithSecret } from './users.js';

export interface UserLookup {
  findByLoginWithSecret(login: string, by: LoginIdentifiers): Promise<UserWithSecret | undefined>;
  updatePasswordHash(id: number, passwordHash: string, at: Date, opts: { replacing: string }): Promise<boolean>;
  passwordHash(id: number): Promise<string | undefined>;
}

/**
 * The stored hash a password login verified, carried by the user it returns. Sessions opens a
 * session for that user only while it is still the stored hash, so a login that checked the
 * old password cannot outlive a password change that committed meanwhile. A symbol property
 * that is not enumerable: never serialised, never copied by a spread into an answer.
 */
export const VERIFIED_PASSWORD_HASH: unique symbol = Symbol('verified password hash');

export type VerifiedUser = User & { readonly [VERIFIED_PASSWORD_HASH]?: string };

export class PasswordLogin {
  constructor(
    private readonly users: UserLookup,
    private readonly passwords: PasswordHasher,
    private readonly limits: RateLimits,
    private readonly clock: Clock,
    private readonly audit: AuditTrail = noAuditTrail,
  ) {}

  /** Returns the user, or throws InvalidCredentials or RateLimitedError. */
  async check(login: string, password: string, client: ClientInfo, by: LoginIdentifiers = USERNAME_ONLY): Promise<VerifiedUser> {
    // The address first, on its own: an address past its limit is refused before the user is
    // read or any account is counted, so it can neither probe nor lock anyone's account (its
    // attempts, however many at once, never reach an account's counter).
    const ip = client.ip ?? 'unknown';
    await this.limits.consume('login:ip', ip).catch((err: unknown) => {
      // Once per window: the attempts after it cost the sender nothing, and would cost a line each.
      if (err instanceof RateLimitedError && err.firstInWindow) this.audit.record({ event: 'login_failed', reason: 'address_rate_limited' }, client);
      throw err;
    });
    // PostgreSQL text cannot hold NUL; such a login matches no account.
    const usable = !login.includes('\0');
    const found = usable ? await this.users.findByLoginWithSecret(normalizeLogin(login), by) : undefined;
    // The account limit is charged to the account found, so spelling it differently (email,
    // phone formatting, case) does not buy more guesses; unknown logins share their string's key.
    const account = found ? userAccount(found.id) : `login:${normalizeLogin(login)}`;
    // An account past a limit (its own network's, or all networks' together: see
    // RateLimits.consumeAccountAttempt) is refused like a wrong password, after the same
    // hashing, and never with a 429: the account's counters are shared by every spelling of a
    // real account (email, phone, case) but not by the spellings of an unknown one, so a 429
    // after failures under another spelling would tell which accounts exist (OWASP
    // Authentication Cheat Sheet: the same answer whether the account exists, the password is
    // wrong, or it is locked). For the same reason the refusal is not reported to /metrics: a
    // count that rises after such a probe would tell it too.
    const throttled = await this.limits.consumeAccountAttempt(account, ip, { unreported: true }).then(
      () => false,
      (err: unknown) => {
        if (err instanceof RateLimitedError) return true;
        throw err;
      },
    );
    const ok = await this.passwords.verify(found?.passwordHash, password);
    if (throttled || !ok || !found || !found.active) {
      const reason = throttled ? 'account_rate_limited' : !found ? 'unknown_account' : !ok ? 'wrong_password' : 'inactive';
      this.audit.record({ event: 'login_failed', reason, userId: found?.id }, client);
      throw new GatehouseError(ErrorCode.InvalidCredentials);
    }
    void this.limits.refundAccountAttempt(account, ip); // not awaited: see RateLimits.refund
    let verified = found.passwordHash;
    if (this.passwords.needsRehash(verified)) {
      const rehashed = await this.passwords.hash(password);
      // Only over the hash just verified: a password changed meanwhile stays changed. Another
      // login's upgrade of the same hash also changes it, so what is stored now is checked
      // once more (rare: only after the parameters were raised): the same password passes.
      if (await this.users.updatePasswordHash(found.id, rehashed, new Date(this.clock.now()), { replacing: verified })) {
        verified = rehashed;
      } else {
        const stored = await this.users.passwordHash(found.id);
        if (stored === undefined || !(await this.passwords.verify(stored, password))) {
          this.audit.record({ event: 'login_failed', reason: 'wrong_password', userId: found.id }, client); // changed meanwhile
          throw new GatehouseError(ErrorCode.InvalidCredentials);
        }
        verified = stored;
      }
    }
    const { passwordHash: _secret, ...user } = found;
    return Object.defineProperty(user, VERIFIED_PASSWORD_HASH, { value: verified, enumerable: false });
  }
}
