// Writes that arrive in the same turn of the event loop, sent as one statement and one commit
// (on a shared PostgreSQL server only): refresh-token rotations and new sessions.
//
// A refresh or a client_credentials grant on PostgreSQL is bound by Gatehouse's one event
// loop, and a statement costs it a socket write, a read and a parse whatever it carries
// (docs/performance.md). The reads and rate-limit counts of concurrent requests were already
// shared; this shares the writes.
//
// Each write keeps its own guards inside the shared statement and stands or falls on its own
// (the statement answers per item). Writes with the same `exclusiveKey` never share a batch
// (two rotations of one session would bump it once for two); a second one is sent on its own.
// If the batch statement fails as a whole (a deadlock with another instance's batch, a dropped
// connection), nothing of it was written, and each write is tried again on its own, so a
// failure is only ever reported for the write that failed.
import { NextTurn } from './next-turn.js';

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export class WriteBatcher<T, R> {
  #pending: Array<Pending<T, R>> = [];
  #keys = new Set<string>();
  readonly #turn = new NextTurn(() => this.#send());

  constructor(
    private readonly opts: {
      /** Writes a batch; answers one result per item, in the items' order. */
      writeMany: (items: T[]) => Promise<R[]>;
      /** Writes one item on its own. */
      writeOne: (item: T) => Promise<R>;
      maxBatch: number;
      exclusiveKey?: (item: T) => string;
    },
  ) {}

  write(item: T): Promise<R> {
    const key = this.opts.exclusiveKey?.(item);
    if (key !== undefined && this.#keys.has(key)) return this.opts.writeOne(item);
    return new Promise((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      if (key !== undefined) this.#keys.add(key);
      if (this.#pending.length >= this.opts.maxBatch) this.#send();
      else this.#turn.schedule();
    });
  }

  #send(): void {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    this.#keys = new Set();
    const one = (p: Pending<T, R>) => this.opts.writeOne(p.item).then(p.resolve, p.reject);
    if (batch.length === 1) return void one(batch[0]!);
    this.opts.writeMany(batch.map((p) => p.item)).then(
      (results) => batch.forEach((p, i) => p.resolve(results[i]!)),
      () => batch.forEach(one),
    );
  }
}
