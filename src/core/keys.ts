// The signing key ring: ES256 keys kept in the database, generated on first start.
// Keys are identified by their RFC 7638 thumbprint. Tokens are verified by the key their
// `kid` names, and only by keys this ring knows; an unknown kid makes the ring re-read the
// database at most once per RELOAD_INTERVAL_MS (another instance may have rotated).
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Database } from '../store/database.js';
import { KeyStore, type SigningKeyRow } from '../store/keys.js';
import type { Clock } from './clock.js';

export const SIGNING_ALG = 'ES256';
const RELOAD_INTERVAL_MS = 5_000;
const KEYGEN_LOCK = 7_246_002; // advisory lock: one instance creates the first key

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  activatesAt: number;
  retireAfter: number | null;
}

export class KeyRing {
  #keys = new Map<string, LoadedKey>();
  #lastReload = 0;
  /** A reload in progress, shared by every caller that asks meanwhile. */
  #reloading: Promise<void> | undefined;

  private constructor(
    private readonly db: Database,
    private readonly store: KeyStore,
    private readonly clock: Clock,
  ) {}

  static async open(db: Database, clock: Clock): Promise<KeyRing> {
    const ring = new KeyRing(db, new KeyStore(db), clock);
    await ring.ensureActiveKey();
    await ring.reload();
    return ring;
  }

  /** Creates a signing key if none can sign now. */
  private async ensureActiveKey(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [KEYGEN_LOCK]);
      const now = this.clock.now();
      const keys = await this.store.list(tx);
      if (keys.some((k) => k.activatesAt.getTime() <= now && (k.retireAfter === null || k.retireAfter.getTime() > now))) return;
      await this.store.insert(await newSigningKey(new Date(now)), tx);
    });
  }

  async reload(): Promise<void> {
    this.#lastReload = this.clock.now();
    const rows = await this.store.list();
    const next = new Map<string, LoadedKey>();
    for (const row of rows) next.set(row.kid, this.#keys.get(row.kid) ?? (await load(row)));
    this.#keys = next;
    this.#lastReload = this.clock.now();
  }

  /** The key that signs now: the most recently activated one. */
  signingKey(): { kid: string; key: CryptoKey } {
    const now = this.clock.now();
    let best: LoadedKey | undefined;
    for (const k of this.#keys.values()) {
      if (k.activatesAt <= now && (k.retireAfter === null || k.retireAfter > now)) {
        if (!best || k.activatesAt > best.activatesAt) best = k;
      }
    }
    if (!best) throw new Error('no signing key is active; restart to create one');
    return { kid: best.kid, key: best.privateKey };
  }

  /** The public key for `kid`, if it may still verify tokens. */
  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    let key = this.#keys.get(kid);
    if (!key && (this.#reloading || this.clock.now() - this.#lastReload >= RELOAD_INTERVAL_MS)) {
      this.#reloading ??= this.reload().finally(() => {
        this.#reloading = undefined;
      });
      await this.#reloading;
      key = this.#keys.get(kid);
    }
    if (!key || (key.retireAfter !== null && key.retireAfter <= this.clock.now())) return undefined;
    return key.publicKey;
  }

  /** Whether `kid` is in the ring and not retired: a cached verification stays valid only then. */
  canVerify(kid: string): boolean {
    const key = this.#keys.get(kid);
    return key !== undefined && (key.retireAfter === null || key.retireAfter > this.clock.now());
  }

  /** The public JWKS: every key that may still verify a live token. */
  jwks(): { keys: JWK[] } {
    const now = this.clock.now();
    const keys = [...this.#keys.values()]
      .filter((k) => k.retireAfter === null || k.retireAfter > now)
      .map((k) => ({ ...k.publicJwk, kid: k.kid, alg: SIGNING_ALG, use: 'sig' }));
    return { keys };
  }
}

async function newSigningKey(at: Date): Promise<SigningKeyRow> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, alg: SIGNING_ALG, publicJwk, privateJwk, createdAt: at, activatesAt: at, retireAfter: null };
}

async function load(row: SigningKeyRow): Promise<LoadedKey> {
  // Only the curve coordinates are published; the private scalar `d` never leaves this object.
  const { kty, crv, x, y } = row.publicJwk;
  return {
    kid: row.kid,
    publicJwk: { kty, crv, x, y },
    privateKey: (await importJWK(row.privateJwk, SIGNING_ALG)) as CryptoKey,
    publicKey: (await importJWK({ kty, crv, x, y }, SIGNING_ALG)) as CryptoKey,
    activatesAt: row.activatesAt.getTime(),
    retireAfter: row.retireAfter?.getTime() ?? null,
  };
}
