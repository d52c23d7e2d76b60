import type { JWK } from 'jose';
import type { StoredPrivateKey } from '../core/key-encryption.js';
import type { Queryable } from './database.js';

export interface SigningKeyRow {
  kid: string;
  alg: 'ES256';
  publicJwk: JWK;
  /** Sealed with KEY_ENCRYPTION_KEY, or in clear without it. */
  privateJwk: StoredPrivateKey;
  createdAt: Date;
  activatesAt: Date;
  retireAfter: Date | null;
}

interface Row {
  kid: string;
  alg: 'ES256';
  public_jwk: JWK;
  private_jwk: StoredPrivateKey;
  created_at: Date;
  activates_at: Date;
  retire_after: Date | null;
}

export class KeyStore {
  constructor(private readonly db: Queryable) {}

  async list(db: Queryable = this.db): Promise<SigningKeyRow[]> {
    const rows = await db.query<Row>(
      'SELECT kid, alg, public_jwk, private_jwk, created_at, activates_at, retire_after FROM signing_keys ORDER BY activates_at, created_at',
    );
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg,
      publicJwk: r.public_jwk,
      privateJwk: r.private_jwk,
      createdAt: r.created_at,
      activatesAt: r.activates_at,
      retireAfter: r.retire_after,
    }));
  }

  async insert(k: SigningKeyRow, db: Queryable = this.db): Promise<void> {
    await db.query(
      `INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at, activates_at, retire_after)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [k.kid, k.alg, JSON.stringify(k.publicJwk), JSON.stringify(k.privateJwk), k.createdAt, k.activatesAt, k.retireAfter],
    );
  }

  /** Replaces the stored private key (sealing a key stored in clear), unless it changed meanwhile. */
  async replacePrivateJwk(kid: string, was: StoredPrivateKey, now: StoredPrivateKey, db: Queryable = this.db): Promise<void> {
    await db.query('UPDATE signing_keys SET private_jwk = $3 WHERE kid = $1 AND private_jwk = $2::jsonb', [kid, JSON.stringify(was), JSON.stringify(now)]);
  }

  async setRetireAfter(kid: string, at: Date | null, db: Queryable = this.db): Promise<void> {
    await db.query('UPDATE signing_keys SET retire_after = $2 WHERE kid = $1', [kid, at]);
  }

  /** Deletes keys whose retire_after is before `before`; returns how many. */
  async deleteRetiredBefore(before: Date): Promise<number> {
    const rows = await this.db.query('DELETE FROM signing_keys WHERE retire_after < $1 RETURNING kid', [before]);
    return rows.length;
  }
}
