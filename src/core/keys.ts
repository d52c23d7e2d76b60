// The signing key ring: ES256 keys kept in the database, generated on first start.
// Keys are identified by their RFC 7638 thumbprint. Tokens are verified by the key their
// `kid` names, and only by keys this ring knows.
//
// Life of a key: pending (published in the JWKS, not signing yet) → signing (the most
// recently activated key) → verifying-only (a newer key signs; its own tokens are still
// valid) → retired at `retire_after` (out of the JWKS, verifies nothing). A rotation creates
// a key that activates after a delay longer than the JWKS cache lifetime, so every resource
// server has it before the first token it signs; the keys it replaces get a `retire_after`
// far enough out for the longest token they can still sign to expire.
//
// Several instances may share one PostgreSQL database: each re-reads the table when a
// request finds its copy older than KEY_REFRESH_INTERVAL_S (no timers), and at once on an
// unknown kid. On the embedded database this process is the only writer, so the table is
// re-read only after this process changed it.
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Database } from '../store/database.js';
import { KeyStore, type SigningKeyRow } from '../store/keys.js';
import { AdminError, AdminErrorCode } from './admin-errors.js';
import type { Clock } from './clock.js';
import { isSealed, KeyEncryption, KeyEncryptionError } from './key-encryption.js';

export const SIGNING_ALG = 'ES256';
/** How long clients may cache /.well-known/jwks.json (its Cache-Control max-age). */
export const JWKS_MAX_AGE_S = 300;
/** How stale an instance's copy of the key table may get on a shared database. */
export const KEY_REFRESH_INTERVAL_S = 10;
/** The JWKS answer re-reads the table first when its copy is older than this (shared database). */
const JWKS_MAX_STALENESS_MS = 1_000;
/**
 * Unknown kids (garbage from anyone, or a key another instance just began signing with, as
 * after an emergency rotation with no delay) re-read the table at most this often: a flood of
 * made-up kids costs one indexed read a second.
 */
const UNKNOWN_KID_RELOAD_MS = 1_000;
/** The longest delay a rotation may ask for. */
const MAX_ACTIVATION_DELAY_S = 2_592_000;
/**
 * Retired keys are deleted by purge only after this long. A retired key verifies nothing and
 * is in no JWKS, so it is kept only so that `keys list` shows recent retirements and an
 * instance with a lagging clock finds the row as it left it; its private half is a liability.
 */
export const RETIRED_KEY_RETENTION_S = 86_400;
const KEYGEN_LOCK = 7_246_002; // advisory lock: one instance creates or rotates keys at a time

export type KeyState = 'pending' | 'signing' | 'verifying-only' | 'retired';

/** What an administrator sees of a key: never the private half. */
export interface KeyInfo {
  kid: string;
  createdAt: Date;
  activatesAt: Date;
  /** When the key stops verifying and leaves the JWKS; null while no rotation replaced it. */
  retireAfter: Date | null;
  state: KeyState;
}

export interface Rotation {
  /** The new key. */
  kid: string;
  activatesAt: Date;
  /** The keys that sign or verify now, with the retire_after the rotation gave them. */
  retiring: KeyInfo[];
  /** Pending keys of an earlier rotation, retired unused because the rotation was forced. */
  cancelled: KeyInfo[];
}

export interface KeyRingSettings {
  /** The default delay between a rotation and the new key's first signature (KEY_ROTATION_DELAY_S). */
  rotationDelayS: number;
  /**
   * How long a key keeps verifying after its last possible signature: the longest access
   * token any dialect issues plus the clock leeway.
   */
  verifyAfterLastSignatureS: number;
}

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  /** Undefined when this instance's KEY_ENCRYPTION_KEY cannot open the stored key (openError says why). */
  privateKey: CryptoKey | undefined;
  openError?: KeyEncryptionError;
  publicKey: CryptoKey;
  activatesAt: number;
  retireAfter: number | null;
}

type KeyTimes = { kid: string; activatesAt: number; retireAfter: number | null };

const retired = (k: KeyTimes, now: number) => k.retireAfter !== null && k.retireAfter <= now;

/** The key that signs at `now`: the most recently activated key that is not retired. */
function signerAt<K extends KeyTimes>(keys: Iterable<K>, now: number): K | undefined {
  let best: K | undefined;
  for (const k of keys) {
    if (k.activatesAt <= now && !retired(k, now) && (!best || k.activatesAt > best.activatesAt)) best = k;
  }
  return best;
}

function stateOf(k: KeyTimes, signer: KeyTimes | undefined, now: number): KeyState {
  if (retired(k, now)) return 'retired';
  if (k.activatesAt > now) return 'pending';
  return k.kid === signer?.kid ? 'signing' : 'verifying-only';
}

const times = (r: SigningKeyRow): KeyTimes => ({
  kid: r.kid,
  activatesAt: r.activatesAt.getTime(),
  retireAfter: r.retireAfter?.getTime() ?? null,
});

function describe(rows: SigningKeyRow[], now: number): KeyInfo[] {
  const signer = signerAt(rows.map(times), now);
  return rows.map((r) => ({
    kid: r.kid,
    createdAt: r.createdAt,
    activatesAt: r.activatesAt,
    retireAfter: r.retireAfter,
    state: stateOf(times(r), signer, now),
  }));
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
    private readonly settings: KeyRingSettings,
    private readonly encryption: KeyEncryption,
  ) {}

  /**
   * Opens the ring, creating a signing key if none can sign. With KEY_ENCRYPTION_KEY, keys
   * stored in clear are sealed first; throws KeyEncryptionError when a sealed key cannot be
   * opened (no key, or another one): an instance that could not sign must not start.
   */
  static async open(db: Database, clock: Clock, settings: KeyRingSettings, encryption = KeyEncryption.none()): Promise<KeyRing> {
    const ring = new KeyRing(db, new KeyStore(db), clock, settings, encryption);
    await ring.ensureActiveKey();
    await ring.reload();
    // At start, an instance that cannot open a key in service must not serve: it could not sign.
    const now = clock.now();
    const failed = [...ring.#keys.values()].find((k) => k.openError && !retired(k, now));
    if (failed) throw failed.openError;
    return ring;
  }

  /**
   * Creates a signing key if none can sign now. It has no predecessor whose tokens or cached
   * JWKS it must wait for, so it is active "since always" (the epoch): every instance signs
   * with it at once, also one whose clock runs behind the one that created it.
   */
  private async ensureActiveKey(): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [KEYGEN_LOCK]);
      const now = this.clock.now();
      if (signerAt((await this.store.list(tx)).map(times), now)) return;
      await this.store.insert(await this.#sealed(await newSigningKey(new Date(now), new Date(0))), tx);
    });
  }

  async reload(): Promise<void> {
    this.#lastReload = this.clock.now();
    const rows = await this.store.list();
    const next = new Map<string, LoadedKey>();
    for (const row of rows) {
      // Imported keys are reused, but the times always come from the row: a rotation or a
      // retirement changes them.
      const known = this.#keys.get(row.kid);
      next.set(row.kid, known ? { ...known, ...times(row) } : await this.#load(row));
    }
    this.#keys = next;
    this.#lastReload = this.clock.now();
  }

  /**
   * Loads a row. A private key this instance cannot open (another instance sealed it with a
   * KEY_ENCRYPTION_KEY this one lacks) still verifies and its times still apply: a retirement
   * must reach this instance too. It cannot sign, and /readyz reports the instance unready.
   * A key stored in clear is sealed on sight when this instance has the key.
   */
  async #load(row: SigningKeyRow): Promise<LoadedKey> {
    let privateJwk: JWK | undefined;
    try {
      privateJwk = await this.encryption.open(row.kid, row.privateJwk);
    } catch (err) {
      if (!(err instanceof KeyEncryptionError)) throw err;
      return { ...(await load(row, undefined)), openError: err };
    }
    if (this.encryption.enabled && !isSealed(row.privateJwk)) {
      await this.store.replacePrivateJwk(row.kid, row.privateJwk, await this.encryption.seal(row.kid, privateJwk));
    }
    return load(row, privateJwk);
  }

  /**
   * Kids of the keys that sign now or will (pending) whose private half this instance cannot
   * open; empty when all is well. A key that only verifies never signs again.
   */
  unopenedKeys(): string[] {
    const now = this.clock.now();
    const signer = signerAt(this.#keys.values(), now);
    return [...this.#keys.values()]
      .filter((k) => !k.privateKey && ['signing', 'pending'].includes(stateOf(k, signer, now)))
      .map((k) => k.kid);
  }

  /**
   * Re-reads the table in the background (or for a caller that awaits it) when this copy is
   * older than `maxAgeMs` on a shared database. Never rejects: on a failure the ring keeps
   * what it had and tries again after the interval.
   */
  #refresh(maxAgeMs: number): Promise<void> | undefined {
    if (this.db.exclusive) return undefined;
    if (!this.#reloading && this.clock.now() - this.#lastReload < maxAgeMs) return undefined;
    this.#reloading ??= this.reload()
      .catch(() => undefined)
      .finally(() => {
        this.#reloading = undefined;
      });
    return this.#reloading;
  }

  #refreshInBackground(): void {
    void this.#refresh(KEY_REFRESH_INTERVAL_S * 1000);
  }

  /** The key that signs now: the most recently activated one. */
  signingKey(): { kid: string; key: CryptoKey } {
    this.#refreshInBackground();
    const best = signerAt(this.#keys.values(), this.clock.now());
    if (!best) throw new Error('no signing key is active; restart to create one');
    if (!best.privateKey) throw new Error(`signing key ${best.kid} cannot be decrypted with this instance's KEY_ENCRYPTION_KEY`);
    return { kid: best.kid, key: best.privateKey };
  }

  /** The public key for `kid`, if it may still verify tokens. */
  async verificationKey(kid: string): Promise<CryptoKey | undefined> {
    let key = this.#keys.get(kid);
    if (key) this.#refreshInBackground();
    else {
      // Another instance may have created it; on the embedded database nobody else can have.
      await this.#refresh(UNKNOWN_KID_RELOAD_MS);
      key = this.#keys.get(kid);
    }
    if (!key || retired(key, this.clock.now())) return undefined;
    return key.publicKey;
  }

  /** Whether `kid` is in the ring and not retired: a cached verification stays valid only then. */
  canVerify(kid: string): boolean {
    this.#refreshInBackground();
    const key = this.#keys.get(kid);
    return key !== undefined && !retired(key, this.clock.now());
  }

  /** The public JWKS: every key that may still verify a live token, and the pending ones. */
  jwks(): { keys: JWK[] } {
    this.#refreshInBackground();
    const now = this.clock.now();
    const keys = [...this.#keys.values()]
      .filter((k) => !retired(k, now))
      .map((k) => ({ ...k.publicJwk, kid: k.kid, alg: SIGNING_ALG, use: 'sig' }));
    return { keys };
  }

  /** jwks() as of at most a second ago: a rotation on another instance shows at once. */
  async currentJwks(): Promise<{ keys: JWK[] }> {
    await this.#refresh(JWKS_MAX_STALENESS_MS);
    return this.jwks();
  }

  // --- administration (the admin command line) ---

  /** Every key in the table, oldest first, with its state now. */
  async list(): Promise<KeyInfo[]> {
    return describe(await this.store.list(), this.clock.now());
  }

  /**
   * Creates a key that starts signing after `activateInS` (default KEY_ROTATION_DELAY_S), and
   * schedules the retirement of the keys in service: the key signing now may sign until the
   * new one activates, so it must verify until then plus the longest token lifetime.
   * Refuses (Conflict) while an earlier new key is still pending, unless `force`, which
   * retires that pending key unused.
   */
  async rotate(opts: { activateInS?: number; force?: boolean } = {}): Promise<Rotation> {
    const delayS = opts.activateInS ?? this.settings.rotationDelayS;
    if (!Number.isInteger(delayS) || delayS < 0 || delayS > MAX_ACTIVATION_DELAY_S) {
      throw new AdminError(AdminErrorCode.InvalidInput, `the activation delay must be a whole number of seconds from 0 to ${MAX_ACTIVATION_DELAY_S}`);
    }
    const fresh = await this.#sealed(await newSigningKey(new Date(this.clock.now()), new Date(this.clock.now() + delayS * 1000)));
    const result = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [KEYGEN_LOCK]);
      const now = this.clock.now();
      const before = describe(await this.store.list(tx), now);
      const pending = before.filter((k) => k.state === 'pending');
      if (pending.length > 0 && !opts.force) {
        const p = pending[0]!;
        throw new AdminError(
          AdminErrorCode.Conflict,
          `key ${p.kid} from an earlier rotation activates at ${p.activatesAt.toISOString()}; wait for it, or force a new rotation (which retires it unused)`,
        );
      }
      for (const p of pending) await this.store.setRetireAfter(p.kid, new Date(now), tx);
      // Strictly after every key in service, so "the most recently activated" is never a tie.
      const inService = before.filter((k) => k.state === 'signing' || k.state === 'verifying-only');
      const activatesAt = new Date(Math.max(now + delayS * 1000, ...inService.map((k) => k.activatesAt.getTime() + 1)));
      const retireAfter = new Date(activatesAt.getTime() + this.settings.verifyAfterLastSignatureS * 1000);
      const retiring: KeyInfo[] = [];
      for (const k of before) {
        if (k.state !== 'signing' && k.state !== 'verifying-only') continue;
        // A key superseded earlier has stopped signing: its own, earlier retirement stands.
        if (k.state === 'verifying-only' && k.retireAfter !== null) {
          retiring.push(k);
          continue;
        }
        await this.store.setRetireAfter(k.kid, retireAfter, tx);
        retiring.push({ ...k, retireAfter });
      }
      await this.store.insert({ ...fresh, createdAt: new Date(now), activatesAt }, tx);
      return {
        kid: fresh.kid,
        activatesAt,
        retiring,
        cancelled: pending.map((p) => ({ ...p, retireAfter: new Date(now), state: 'retired' as const })),
      };
    });
    await this.reload();
    return result;
  }

  /**
   * Retires a key now (a leaked key): it leaves the JWKS and every token it signed is refused
   * from the next request on (on other instances within KEY_REFRESH_INTERVAL_S). The key
   * signing now cannot be retired: rotate with no delay first. Retiring a pending key cancels
   * its rotation, so the signing key is no longer scheduled to retire.
   */
  async retire(kid: string): Promise<KeyInfo> {
    const result = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [KEYGEN_LOCK]);
      const now = this.clock.now();
      const keys = describe(await this.store.list(tx), now);
      const key = keys.find((k) => k.kid === kid);
      if (!key) throw new AdminError(AdminErrorCode.NotFound, `no signing key ${kid}`);
      if (key.state === 'retired') {
        throw new AdminError(AdminErrorCode.Conflict, `key ${kid} is already retired (since ${key.retireAfter!.toISOString()})`);
      }
      if (key.state === 'signing') {
        throw new AdminError(
          AdminErrorCode.Conflict,
          `key ${kid} is the one signing now; rotate with no delay first (gatehouse keys rotate --activate-in 0 --force), then retire it`,
        );
      }
      await this.store.setRetireAfter(kid, new Date(now), tx);
      if (key.state === 'pending' && !keys.some((k) => k.state === 'pending' && k.kid !== kid)) {
        const signer = keys.find((k) => k.state === 'signing');
        if (signer) await this.store.setRetireAfter(signer.kid, null, tx);
      }
      return { ...key, retireAfter: new Date(now), state: 'retired' as const };
    });
    await this.reload();
    return result;
  }

  async #sealed(row: SigningKeyRow & { privateJwk: JWK }): Promise<SigningKeyRow> {
    return { ...row, privateJwk: await this.encryption.seal(row.kid, row.privateJwk) };
  }

  /** Deletes keys retired more than RETIRED_KEY_RETENTION_S ago; returns how many. */
  async purgeRetired(): Promise<number> {
    const deleted = await this.store.deleteRetiredBefore(new Date(this.clock.now() - RETIRED_KEY_RETENTION_S * 1000));
    if (deleted > 0) await this.reload();
    return deleted;
  }
}

async function newSigningKey(createdAt: Date, activatesAt: Date): Promise<SigningKeyRow & { privateJwk: JWK }> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, alg: SIGNING_ALG, publicJwk, privateJwk, createdAt, activatesAt, retireAfter: null };
}

async function load(row: SigningKeyRow, privateJwk: JWK | undefined): Promise<LoadedKey> {
  // Only the curve coordinates are published; the private scalar `d` never leaves this object.
  const { kty, crv, x, y } = row.publicJwk;
  return {
    publicJwk: { kty, crv, x, y },
    privateKey: privateJwk ? ((await importJWK(privateJwk, SIGNING_ALG)) as CryptoKey) : undefined,
    publicKey: (await importJWK({ kty, crv, x, y }, SIGNING_ALG)) as CryptoKey,
    ...times(row),
  };
}
