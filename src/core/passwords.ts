// argon2id password hashing at the OWASP minimum (m = 19 MiB, t = 2, p = 1). Hashing runs on
// libuv's thread pool (@node-rs/argon2), never on the event loop.
import { randomBytes } from 'node:crypto';
import { hash, verify, type Algorithm } from '@node-rs/argon2';

export const ARGON2_PARAMS = {
  // Algorithm.Argon2id; the enum is `const`, which isolated modules cannot read at run time.
  algorithm: 2 as Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

const PHC_PARAMS = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/;

export class PasswordHasher {
  private constructor(
    /** Checked when the user does not exist, so an unknown user costs the same as a wrong password. */
    private readonly decoyHash: string,
  ) {}

  static async create(): Promise<PasswordHasher> {
    return new PasswordHasher(await hash(randomBytes(32).toString('base64url'), ARGON2_PARAMS));
  }

  hash(password: string): Promise<string> {
    return hash(password, ARGON2_PARAMS);
  }

  /**
   * True when `password` matches `storedHash`. With no stored hash (unknown user) the same
   * work is done against a decoy and the answer is false.
   */
  async verify(storedHash: string | undefined, password: string): Promise<boolean> {
    try {
      const ok = await verify(storedHash ?? this.decoyHash, password);
      return ok && storedHash !== undefined;
    } catch {
      return false; // a corrupt stored hash fails closed
    }
  }

  /** True when the hash was made with weaker parameters than today's and should be replaced. */
  needsRehash(storedHash: string): boolean {
    const m = PHC_PARAMS.exec(storedHash);
    if (!m) return true;
    const [memory, time, parallelism] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return (
      memory < ARGON2_PARAMS.memoryCost || time < ARGON2_PARAMS.timeCost || parallelism !== ARGON2_PARAMS.parallelism
    );
  }
}
