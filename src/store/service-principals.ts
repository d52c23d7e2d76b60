import type { OAuthGrantType, ServiceKind, ServicePrincipal, ServicePrincipalStore } from '../core/service-principals.js';
import { AdminError, AdminErrorCode } from '../core/admin-errors.js';
import type { Database, Queryable } from './database.js';
import { ReadBatcher } from './read-batcher.js';
import { uniqueViolation } from './users.js';

interface Row {
  id: number;
  kind: ServiceKind;
  name: string;
  secret_hash: string;
  permissions: string[];
  grant_types: OAuthGrantType[];
  active: boolean;
}

const toPrincipal = (r: Row): ServicePrincipal => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  permissions: r.permissions,
  grantTypes: r.grant_types,
  active: r.active,
});

type PrincipalWithSecret = ServicePrincipal & { secretHash: string };

export class ServicePrincipalRows implements ServicePrincipalStore {
  /**
   * On a shared database, the lookups of concurrent grants share a query (see ReadBatcher:
   * never answered by one sent before the grant came, so a deactivation or a new secret
   * committed on any instance is seen at once). Keyed by kind and the name exactly as given.
   */
  readonly #byName: ReadBatcher<string, PrincipalWithSecret> | undefined;

  constructor(private readonly db: Database) {
    this.#byName = db.exclusive ? undefined : new ReadBatcher((keys) => this.#findManyByName(keys), 200);
  }

  async findByName(kind: ServiceKind, name: string): Promise<PrincipalWithSecret | undefined> {
    if (this.#byName) return this.#byName.get(`${kind}\n${name}`);
    const rows = await this.db.query<Row>(
      'SELECT id, kind, name, secret_hash, permissions, grant_types, active FROM api_users WHERE kind = $1 AND lower(name) = lower($2)',
      [kind, name],
    );
    const r = rows[0];
    return r && { ...toPrincipal(r), secretHash: r.secret_hash };
  }
  /** Keys are `<kind>\n<name>`; the answer is keyed alike, by the name as asked for. */
  async #findManyByName(keys: string[]): Promise<Map<string, PrincipalWithSecret>> {
    const split = keys.map((k) => [k.slice(0, k.indexOf('\n')), k.slice(k.indexOf('\n') + 1)] as const);
    const rows = await this.db.query<Row & { asked_kind: string; asked_name: string }>(
      `SELECT i.kind AS asked_kind, i.name AS asked_name, a.id, a.kind, a.name, a.secret_hash, a.permissions, a.grant_types, a.active
         FROM unnest($1::text[], $2::text[]) AS i (kind, name)
         JOIN api_users a ON a.kind = i.kind AND lower(a.name) = lower(i.name)`,
      [split.map(([kind]) => kind), split.map(([, name]) => name)],
    );
    return new Map(rows.map((r) => [`${r.asked_kind}\n${r.asked_name}`, { ...toPrincipal(r), secretHash: r.secret_hash }]));
  }


  async insert(
    p: { kind: ServiceKind; name: string; secretHash: string; permissions: string[]; grantTypes: OAuthGrantType[] },
    at: Date,
  ) {
    try {
      const rows = await this.db.query<Row>(
        `INSERT INTO api_users (kind, name, secret_hash, permissions, grant_types, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id, kind, name, secret_hash, permissions, grant_types, active`,
        [p.kind, p.name, p.secretHash, p.permissions, p.grantTypes, at],
      );
      return toPrincipal(rows[0]!);
    } catch (err) {
      if (!uniqueViolation(err)) throw err;
      throw new AdminError(AdminErrorCode.Conflict, `${p.kind === 'api_client' ? 'an API client' : 'an API user'} named ${p.name} already exists`);
    }
  }

  async update(id: number, changes: { active?: boolean; permissions?: string[] }, at: Date, db: Queryable = this.db): Promise<boolean> {
    const rows = await db.query(
      `UPDATE api_users SET active = COALESCE($2, active), permissions = COALESCE($3, permissions), updated_at = $4
        WHERE id = $1 RETURNING id`,
      [id, changes.active ?? null, changes.permissions ?? null, at],
    );
    return rows.length > 0;
  }

  /**
   * Runs a change of a principal's active flag and the revocation of its sessions in one
   * transaction, holding its row FOR UPDATE from the start, which conflicts with the FOR KEY
   * SHARE of a session being opened for it (SessionStore's guards): see
   * UserStore.changeCredentials for how each order of the two ends.
   */
  changeActive<T>(id: number, change: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT id FROM api_users WHERE id = $1 FOR UPDATE', [id]);
      return change(tx);
    });
  }

  async count(): Promise<number> {
    const rows = await this.db.query<{ n: number }>('SELECT count(*)::int AS n FROM api_users');
    return rows[0]!.n;
  }

  async list(kind: ServiceKind): Promise<ServicePrincipal[]> {
    const rows = await this.db.query<Row>(
      'SELECT id, kind, name, secret_hash, permissions, grant_types, active FROM api_users WHERE kind = $1 ORDER BY id',
      [kind],
    );
    return rows.map(toPrincipal);
  }

  async findById(id: number): Promise<ServicePrincipal | undefined> {
    const rows = await this.db.query<Row>('SELECT id, kind, name, secret_hash, permissions, grant_types, active FROM api_users WHERE id = $1', [id]);
    return rows[0] && toPrincipal(rows[0]);
  }

  async delete(id: number): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM api_users WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }
}
