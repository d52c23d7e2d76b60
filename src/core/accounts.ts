// Customer accounts: self-registration, profile changes, password changes, and the
// administrative list/read/delete. Every change to a user drops the cached sessions of that
// user, so the next request sees it (a deactivated or deleted user is refused at once).
import type { UserStore } from '../store/users.js';
import { AdminError, AdminErrorCode } from './admin-errors.js';
import { byNameOrId, isStoredId } from './admin-references.js';
import { noAuditTrail, type AuditTrail } from './audit.js';
import type { Clock } from './clock.js';
import { ErrorCode, GatehouseError, isGatehouseError, RateLimitedError } from './errors.js';
import { passwordWeakness } from './password-policy.js';
import type { PasswordHasher } from './passwords.js';
import { type RateLimits, userAccount } from './rate-limits.js';
import type { Principal } from '../store/sessions.js';
import type { ClientInfo, Sessions } from './sessions.js';
import { ROLES, type Role, type User } from './users.js';

export class Accounts {
  constructor(
    private readonly users: UserStore,
    private readonly passwords: PasswordHasher,
    private readonly sessions: Sessions,
    private readonly limits: RateLimits,
    private readonly clock: Clock,
    private readonly audit: AuditTrail = noAuditTrail,
  ) {}

  /**
   * Registers a customer, whose username is the email. Rate limited per IP like a login.
   * Throws WeakPassword, EmailTaken or RateLimitedError.
   */
  async register(
    input: { email: string; password: string; firstName: string; lastName: string },
    client: ClientInfo,
  ): Promise<User> {
    await this.limits.consume('login:ip', client.ip ?? 'unknown');
    const weakness = passwordWeakness(input.password, [input.email]);
    if (weakness) throw new GatehouseError(ErrorCode.WeakPassword, weakness);
    const user = await this.users.register(
      {
        username: input.email,
        email: input.email,
        passwordHash: await this.passwords.hash(input.password),
        firstName: input.firstName,
        lastName: input.lastName,
        role: 'user',
      },
      new Date(this.clock.now()),
    );
    this.audit.record({ event: 'user_registered', userId: user.id }, client);
    return user;
  }

  get(id: number): Promise<User | undefined> {
    return this.users.findById(id);
  }

  async list(page: number, pageSize: number): Promise<{ users: User[]; total: number }> {
    return this.users.list((page - 1) * pageSize, pageSize);
  }

  /**
   * Changes profile fields. An email change is rate limited like a login: its 409 tells whether
   * an email is registered, so it must not become a free oracle.
   */
  async update(
    id: number,
    changes: { email?: string; firstName?: string; lastName?: string },
    client: ClientInfo,
  ): Promise<User | undefined> {
    if (changes.email !== undefined) {
      await this.limits.consume('login:ip', client.ip ?? 'unknown');
      await this.limits.consume('login:account', userAccount(id));
    }
    // Read first only to tell the audit trail whether the email is a new one (a rare request).
    const before = changes.email !== undefined ? await this.users.findById(id) : undefined;
    const user = await this.users.update(id, changes, new Date(this.clock.now()));
    this.sessions.userChanged(id);
    if (user && before && user.email !== before.email) this.audit.record({ event: 'email_changed', userId: id }, client);
    return user;
  }

  /**
   * Changes a password after checking the current one, and revokes every other session of
   * the user: whoever else knew the old password is out.
   *
   * The check counts like a login attempt, on the login's own counters (the address, the
   * account from the caller's network, the account from every network): with counters of
   * its own, a stolen access token would add a second stream of guesses at the password.
   * Throws RateLimitedError when one is full (the caller is authenticated, so saying so
   * tells nothing about which accounts exist), InvalidCredentials for a wrong current password.
   */
  async changePassword(user: User, current: string, next: string, keepSessionId: string, client: ClientInfo): Promise<void> {
    const ip = client.ip ?? 'unknown';
    const account = userAccount(user.id);
    try {
      await this.limits.consume('login:ip', ip);
      await this.limits.consumeAccountAttempt(account, ip);
    } catch (err) {
      if (err instanceof RateLimitedError && err.firstInWindow) {
        this.audit.record({ event: 'password_change_failed', userId: user.id, reason: 'rate_limited' }, client); // once per window, as a login's
      }
      throw err;
    }
    const ok = await this.passwords.verify(await this.users.passwordHash(user.id), current);
    if (!ok) {
      this.audit.record({ event: 'password_change_failed', userId: user.id, reason: 'wrong_password' }, client);
      throw new GatehouseError(ErrorCode.InvalidCredentials, 'current password is wrong');
    }
    void this.limits.refundAccountAttempt(account, ip); // not awaited: see RateLimits.refund
    const weakness = passwordWeakness(next, [user.email, user.username]);
    if (weakness) throw new GatehouseError(ErrorCode.WeakPassword, weakness);
    const hash = await this.passwords.hash(next);
    // One transaction: a crash cannot leave the password changed and the other sessions alive,
    // and no login that checked the old password opens a session that survives (see
    // UserStore.changeCredentials).
    const sessionsRevoked = await this.users.changeCredentials(user.id, async (tx) => {
      await this.users.updatePasswordHash(user.id, hash, new Date(this.clock.now()), { db: tx });
      return this.sessions.revokeAllForUser(user.id, 'password_change', { exceptSessionId: keepSessionId }, tx);
    });
    this.sessions.userChanged(user.id);
    this.audit.record({ event: 'password_changed', userId: user.id, sessionsRevoked }, client);
  }

  /**
   * Activates or deactivates a user. Deactivation also revokes every session, so tokens
   * issued before it stay dead if the user is activated again.
   */
  async setActive(id: number, active: boolean): Promise<boolean> {
    // One transaction, as a password change (see UserStore.changeCredentials): no login racing
    // the deactivation keeps a session that would come back to life on reactivation.
    const done = await this.users.changeCredentials(id, async (tx) => {
      const changed = await this.users.setActive(id, active, new Date(this.clock.now()), tx);
      if (changed && !active) await this.sessions.revokeAllForUser(id, 'admin', {}, tx);
      return changed;
    });
    this.sessions.userChanged(id);
    return done;
  }

  /**
   * Deletes a user; their sessions go with them (ON DELETE CASCADE), so their tokens die at
   * once. `by`: who asked, when a request did (for the audit trail).
   */
  async delete(id: number, by?: { principal: Principal; client: ClientInfo }): Promise<boolean> {
    const deleted = await this.users.delete(id);
    this.sessions.userChanged(id);
    if (deleted && by) {
      const actor = by.principal.kind === 'user' ? { byUserId: by.principal.user.id } : { byPrincipalId: by.principal.service.id };
      this.audit.record({ event: 'user_deleted', userId: id, ...actor }, by.client);
    }
    return deleted;
  }

  /** A user by username or by id (administration); refused when those are two users (admin-references.ts). */
  async find(usernameOrId: string): Promise<User | undefined> {
    const byName = await this.users.findByUsername(usernameOrId);
    const byId = isStoredId(usernameOrId) ? await this.users.findById(Number(usernameOrId)) : undefined;
    return byNameOrId(usernameOrId, byName, byId, 'user', (u) => u.username);
  }

  /**
   * Creates a user of any role (administration: no rate limit). The password policy is the
   * registration's. Throws WeakPassword, or AdminError for a taken username or email or a bad value.
   */
  async create(input: {
    username: string;
    email: string;
    password: string;
    role?: Role;
    firstName?: string;
    lastName?: string;
  }): Promise<User> {
    const username = input.username.trim();
    const email = input.email.trim();
    if (!/^[^\s@]{1,256}$/.test(username) && username !== email) {
      throw new AdminError(AdminErrorCode.InvalidInput, 'a username is 1 to 256 characters without spaces or @ (or the email itself)');
    }
    if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 320) {
      throw new AdminError(AdminErrorCode.InvalidInput, `not an email address: ${JSON.stringify(email)}`);
    }
    const role = input.role ?? 'user';
    if (!ROLES.includes(role)) throw new AdminError(AdminErrorCode.InvalidInput, `a role is one of ${ROLES.join(', ')}`);
    const weakness = passwordWeakness(input.password, [email, username]);
    if (weakness) throw new GatehouseError(ErrorCode.WeakPassword, weakness);
    try {
      return await this.users.register(
        {
          username,
          email,
          passwordHash: await this.passwords.hash(input.password),
          firstName: input.firstName,
          lastName: input.lastName,
          role,
        },
        new Date(this.clock.now()),
      );
    } catch (err) {
      if (!isGatehouseError(err, ErrorCode.EmailTaken)) throw err;
      throw new AdminError(AdminErrorCode.Conflict, 'a user with this username or email already exists');
    }
  }
}
