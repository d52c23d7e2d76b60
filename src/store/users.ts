import type { LoginIdentifiers, NewUser, Role, User, UserWithSecret } from '../core/users.js';
import { ErrorCode, GatehouseError } from '../core/errors.js';
import type { Database, Queryable } from './database.js';

const SEED_LOCK = 7_246_003; // advisory lock: one instance seeds an empty database

export const USER_COLUMNS = `u.id, u.username, u.email, u.first_name, u.last_name, u.gender, u.image, u.phone,
  to_char(u.birth_date, 'YYYY-MM-DD') AS birth_date, u.role, u.active, u.created_at, u.updated_at`;

export interface UserRow {
  id: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  gender: string;
  image: string;
  phone: string | null;
  birth_date: string | null;
  role: Role;
  active: boolean;
  created_at: Date;
  updated_at: Date;
}

export function toUser(r: UserRow): User {
  return {
    id: r.id,
    username: r.username,
    email: r.email,
    firstName: r.first_name,
    lastName: r.last_name,
    gender: r.gender,
    image: r.image,
    phone: r.phone,
    birthDate: r.birth_date,
    role: r.role,
    active: r.active,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class UserStore {
  constructor(private readonly db: Database) {}

  /**
   * Finds a user with the password hash by login name (case-insensitive) or, when asked, by
   * email (case-insensitive) or phone (digits only). A username match wins over an email
   * match, which wins over a phone match, so one login string never means two users.
   */
  async findByLoginWithSecret(login: string, by: LoginIdentifiers): Promise<UserWithSecret | undefined> {
    const digits = by.phone ? login.replace(/[^0-9]/g, '') : '';
    const phone = digits.length >= 6 ? digits : '';
    // By login name alone (DummyJSON's rule), the statement has one condition: PostgreSQL plans
    // it in a fraction of the time, and PGlite plans every statement anew.
    const byNameOnly = !by.email && phone === '';
    const rows = await this.db.query<UserRow & { password_hash: string }>(
      byNameOnly
        ? `SELECT ${USER_COLUMNS}, u.password_hash FROM users u WHERE lower(u.username) = lower($1)`
        : `SELECT ${USER_COLUMNS}, u.password_hash FROM users u
            WHERE lower(u.username) = lower($1)
               OR ($2 AND lower(u.email) = lower($1))
               OR ($3 <> '' AND u.phone_digits = $3)
            ORDER BY (lower(u.username) = lower($1)) DESC, (lower(u.email) = lower($1)) DESC
            LIMIT 1`,
      byNameOnly ? [login] : [login, by.email, phone],
    );
    const row = rows[0];
    return row && { ...toUser(row), passwordHash: row.password_hash };
  }

  async findById(id: number): Promise<User | undefined> {
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1`, [id]);
    return rows[0] && toUser(rows[0]);
  }

  async insert(user: NewUser, at: Date, db: Queryable = this.db): Promise<User> {
    const rows = await db.query<UserRow>(
      `INSERT INTO users AS u (username, email, password_hash, first_name, last_name, gender, image, phone, birth_date, role, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
       RETURNING ${USER_COLUMNS}`,
      [
        user.username,
        user.email,
        user.passwordHash,
        user.firstName ?? '',
        user.lastName ?? '',
        user.gender ?? '',
        user.image ?? '',
        user.phone ?? null,
        user.birthDate ?? null,
        user.role ?? 'user',
        at,
      ],
    );
    return toUser(rows[0]!);
  }

  /** Changes profile fields; undefined when the user does not exist. Throws EmailTaken. */
  async update(id: number, changes: { email?: string; firstName?: string; lastName?: string }, at: Date): Promise<User | undefined> {
    try {
      const rows = await this.db.query<UserRow>(
        // A customer registered by email has that email as login name: it follows the email.
        `UPDATE users AS u SET email = COALESCE($2, email),
            username = CASE WHEN $2::text IS NOT NULL AND lower(username) = lower(email) THEN $2 ELSE username END,
            first_name = COALESCE($3, first_name), last_name = COALESCE($4, last_name), updated_at = $5
          WHERE id = $1 RETURNING ${USER_COLUMNS}`,
        [id, changes.email ?? null, changes.firstName ?? null, changes.lastName ?? null, at],
      );
      return rows[0] && toUser(rows[0]);
    } catch (err) {
      throw uniqueViolation(err) ? new GatehouseError(ErrorCode.EmailTaken) : err;
    }
  }

  /** Inserts a new user; throws EmailTaken when the email or username is taken. */
  async register(user: NewUser, at: Date): Promise<User> {
    try {
      return await this.insert(user, at);
    } catch (err) {
      throw uniqueViolation(err) ? new GatehouseError(ErrorCode.EmailTaken) : err;
    }
  }

  async setActive(id: number, active: boolean, at: Date, db: Queryable = this.db): Promise<boolean> {
    const rows = await db.query('UPDATE users SET active = $2, updated_at = $3 WHERE id = $1 RETURNING id', [id, active, at]);
    return rows.length > 0;
  }

  /**
   * Runs a change of a user's credentials (password, active) and the revocation of their
   * sessions in one transaction, holding the user's row FOR UPDATE from the start. A login
   * opening a session reads the row FOR KEY SHARE (SessionStore's guarded inserts), which
   * conflicts only with FOR UPDATE: a login that read the row first commits before the change
   * goes on, so the revocation (a later statement) sees its session; one that comes after waits
   * for the change and then finds the row changed, and opens nothing.
   */
  changeCredentials<T>(id: number, change: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [id]);
      return change(tx);
    });
  }

  async delete(id: number): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM users WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }

  async list(offset: number, limit: number): Promise<{ users: User[]; total: number }> {
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u ORDER BY u.id LIMIT $1 OFFSET $2`, [
      limit,
      offset,
    ]);
    return { users: rows.map(toUser), total: await this.count() };
  }

  async passwordHash(id: number): Promise<string | undefined> {
    const rows = await this.db.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [id]);
    return rows[0]?.password_hash;
  }

  /**
   * Sets a user's password hash; with `replacing`, only while that is still the stored hash (a
   * rehash at login must not undo a password change made meanwhile). False when nothing changed.
   */
  async updatePasswordHash(id: number, passwordHash: string, at: Date, opts: { replacing?: string; db?: Queryable } = {}): Promise<boolean> {
    const rows = await (opts.db ?? this.db).query(
      'UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1 AND ($4::text IS NULL OR password_hash = $4) RETURNING id',
      [id, passwordHash, at, opts.replacing ?? null],
    );
    return rows.length > 0;
  }

  /** Inserts `users` in order in one transaction, unless the table already has users. */
  async insertIfEmpty(users: NewUser[], at: Date): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK]);
      if ((await this.count(tx)) > 0) return false;
      for (const u of users) await this.insert(u, at, tx);
      return true;
    });
  }

  async count(db: Queryable = this.db): Promise<number> {
    const rows = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
    return rows[0]!.n;
  }

  /** By login name, case-insensitively (no password hash: administration only). */
  async findByUsername(username: string): Promise<User | undefined> {
    const rows = await this.db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE lower(u.username) = lower($1)`, [username]);
    return rows[0] && toUser(rows[0]);
  }
}

/** PostgreSQL's unique_violation, from either driver. */
export function uniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: string }).code === '23505';
}
