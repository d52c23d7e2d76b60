// Refresh-token rotations that arrive in the same turn of the event loop, written by one
// statement and one commit (on a shared PostgreSQL server only).
//
// A refresh on PostgreSQL is bound by Gatehouse's one event loop, and a statement costs it a
// socket write, a read and a parse whatever it carries (docs/performance.md). The reads and
// rate-limit counts of concurrent refreshes were already shared; this shares the write.
//
// Each rotation keeps its own guards: its token must still be unused and its session live,
// checked under the row locks the statement takes, exactly as in the one-rotation statement
// (SessionStore.rotateRefreshToken). A rotation whose guard fails gets `undefined` and
// nothing of it is written, while the others of the batch go through. Two rotations of one
// session never share a batch (it would bump the session once for two); a second one is sent
// on its own. If the batch statement fails as a whole (a deadlock with another instance's
// batch, a dropped connection), nothing of it was written, and each rotation is tried again
// on its own, so a failure is only ever reported for the rotation that failed.

import { NextTurn } from './next-turn.js';

export interface Rotation {
  tokenHash: string;
  nextHash: string;
  /** The session the token belongs to, as read before the rotation. */
  sessionId: string;
  at: Date;
  nextExpiresAt: Date;
  bumpAccessGeneration: 0 | 1;
}

interface Pending {
  rotation: Rotation;
  resolve: (accessGeneration: number | undefined) => void;
  reject: (err: unknown) => void;
}

export class RotationBatcher {
  #pending: Pending[] = [];
  #sessions = new Set<string>();
  readonly #turn = new NextTurn(() => this.#send());

  constructor(
    /** Writes a batch; answers the new access generation by token hash, for the rotations that happened. */
    private readonly rotateMany: (rotations: Rotation[]) => Promise<Map<string, number>>,
    /** Writes one rotation on its own. */
    private readonly rotateOne: (rotation: Rotation) => Promise<number | undefined>,
    private readonly maxBatch: number,
  ) {}

  rotate(rotation: Rotation): Promise<number | undefined> {
    if (this.#sessions.has(rotation.sessionId)) return this.rotateOne(rotation);
    return new Promise((resolve, reject) => {
      this.#pending.push({ rotation, resolve, reject });
      this.#sessions.add(rotation.sessionId);
      if (this.#pending.length >= this.maxBatch) this.#send();
      else this.#turn.schedule();
    });
  }

  #send(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#sessions = new Set();
    if (batch.length === 1) {
      const [only] = batch;
      this.rotateOne(only!.rotation).then(only!.resolve, only!.reject);
      return;
    }
    this.rotateMany(batch.map((p) => p.rotation)).then(
      (done) => {
        for (const p of batch) p.resolve(done.get(p.rotation.tokenHash));
      },
      () => {
        for (const p of batch) this.rotateOne(p.rotation).then(p.resolve, p.reject);
      },
    );
  }
}
