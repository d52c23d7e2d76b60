// Customer accounts: self-registration, profile changes, password changes, and the
// administrative list/read/delete. Every change to a user drops the cached sessions of that
// user, so the next request sees it (a deactivated or deleted user is refused at once).
import type { UserStore } from '../store/users.js';
import { AdminError, AdminErrorCode } from './admin-errors.js';
import { byNameOrId, isStoredId } from './admin-references.js';
import type { Clock } from './clock.js';
import { ErrorCode, GatehouseError, isGatehouseError } from './errors.js';
import { passwordWeakness } from './password-policy.js';
import type { PasswordHasher } from './passwords.js';
import type { RateLimits } from './rate-limits.js';
import type { ClientInfo, Sessions } from './sessions.js';
import { ROLES, type Role, type User } from './users.js';

export class Accounts {
  constructor(
    private readonly users: UserStore,
    private readonly passwords: PasswordHasher,
    private readonly sessions: Sessions,
    private readonly limits: RateLimits,
    private readonly clock: Clock,
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
    return this.users.register(
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
      await this.limits.consume('login:account', `user:${id}`);
    }
    const user = await this.users.update(id, changes, new Date(this.clock.now()));
    this.sessions.userChanged(id);
    return user;
  }

  /**
   * Changes a password after checking the current one (rate limited like a login), and
   * revokes every other session of the user: whoever else knew the old password is out.
   */
  async changePassword(user: User, current: string, next: string, keepSessionId: string): Promise<void> {
    await this.limits.consume('login:account', `user:${user.id}`);
    const ok = await this.passwords.verify(await this.users.passwordHash(user.id), current);
    if (!ok) throw new GatehouseError(ErrorCode.InvalidCredentials, 'current password is wrong');
    void this.limits.refund('login:account', `user:${user.id}`); // not awaited: see RateLimits.refund
    const weakness = passwordWeakness(next, [user.email, user.username]);
    if (weakness) throw new GatehouseError(ErrorCode.WeakPassword, weakness);
    const hash = await this.passwords.hash(next);
    // One transaction: a crash cannot leave the password changed and the other sessions alive,
    // and no login that checked the old password opens a session that survives (see
    // UserStore.changeCredentials).
    await this.users.changeCredentials(user.id, async (tx) => {
      await this.users.updatePasswordHash(user.id, hash, new Date(this.clock.now()), { db: tx });
      await this.sessions.revokeAllForUser(user.id, 'password_change', { exceptSessionId: keepSessionId }, tx);
    });
    this.sessions.userChanged(user.id);
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

  /** Deletes a user; their sessions go with them (ON DELETE CASCADE), so their tokens die at once. */
  async delete(id: number): Promise<boolean> {
    const deleted = await this.users.delete(id);
    this.sessions.userChanged(id);
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
