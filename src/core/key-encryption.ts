// Private signing keys at rest. With KEY_ENCRYPTION_KEY set, each private JWK is stored as a
// compact JWE (`dir`, A256GCM, through jose) instead of in clear, so a copy of the database
// (a backup, a replica, a leaked dump) cannot sign tokens without the key that lives only in
// the instances' environment. The signing key's kid is in the JWE's protected header, which
// A256GCM authenticates: a sealed key copied onto another row does not open there.
//
// Without KEY_ENCRYPTION_KEY keys are stored in clear, as before; once it is set, keys stored
// in clear are sealed when an instance opens its key ring. Sealed keys never open without it.
import { CompactEncrypt, compactDecrypt, type JWK } from 'jose';

/** A private JWK as stored: sealed, or (without KEY_ENCRYPTION_KEY) the JWK itself. */
export type StoredPrivateKey = JWK | { jwe: string };

export const KeyEncryptionErrorCode = {
  /** Sealed keys are in the database but KEY_ENCRYPTION_KEY is not set. */
  Missing: 'key_encryption_key_missing',
  /** KEY_ENCRYPTION_KEY does not open a sealed key (another key, or the row was altered). */
  Mismatch: 'key_encryption_key_mismatch',
} as const;
export type KeyEncryptionErrorCode = (typeof KeyEncryptionErrorCode)[keyof typeof KeyEncryptionErrorCode];

/** A configuration problem found when the key ring opens: the server refuses to start. */
export class KeyEncryptionError extends Error {
  override readonly name = 'KeyEncryptionError';
  constructor(
    readonly code: KeyEncryptionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const ALG = 'dir';
const ENC = 'A256GCM';

export function isSealed(stored: StoredPrivateKey): stored is { jwe: string } {
  return typeof (stored as { jwe?: unknown }).jwe === 'string';
}

export class KeyEncryption {
  readonly #key: Uint8Array | undefined;

  private constructor(key: Uint8Array | undefined) {
    this.#key = key;
  }

  /** Keys stored in clear. */
  static none(): KeyEncryption {
    return new KeyEncryption(undefined);
  }

  /** Keys sealed with this 32-byte key. */
  static withKey(key: Uint8Array): KeyEncryption {
    if (key.length !== 32) throw new RangeError('a key encryption key is 32 bytes');
    return new KeyEncryption(key);
  }

  get enabled(): boolean {
    return this.#key !== undefined;
  }

  /** What to store for `kid`'s private JWK. */
  async seal(kid: string, jwk: JWK): Promise<StoredPrivateKey> {
    if (!this.#key) return jwk;
    const plaintext = new TextEncoder().encode(JSON.stringify(jwk));
    return { jwe: await new CompactEncrypt(plaintext).setProtectedHeader({ alg: ALG, enc: ENC, kid }).encrypt(this.#key) };
  }

  /** The private JWK stored for `kid`; throws KeyEncryptionError when it cannot be opened. */
  async open(kid: string, stored: StoredPrivateKey): Promise<JWK> {
    if (!isSealed(stored)) return stored;
    if (!this.#key) {
      throw new KeyEncryptionError(
        KeyEncryptionErrorCode.Missing,
        `signing key ${kid} is encrypted: set KEY_ENCRYPTION_KEY to the key it was encrypted with`,
      );
    }
    try {
      const { plaintext, protectedHeader } = await compactDecrypt(stored.jwe, this.#key, {
        keyManagementAlgorithms: [ALG],
        contentEncryptionAlgorithms: [ENC],
      });
      if (protectedHeader.kid !== kid) throw new Error('sealed for another key');
      return JSON.parse(new TextDecoder().decode(plaintext)) as JWK;
    } catch {
      throw new KeyEncryptionError(
        KeyEncryptionErrorCode.Mismatch,
        `KEY_ENCRYPTION_KEY does not decrypt signing key ${kid}: it was encrypted with another key, or its row was altered`,
      );
    }
  }
}
