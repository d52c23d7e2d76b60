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
// (two rotations of one user's sessions could otherwise lock rows in an order that deadlocks
// with revoking all of that user's sessions); a second one is sent on its own.
//
// If the server refused the batch statement over its rows (a deadlock with another instance's
// batch, a constraint), it rolled back and nothing of it was written, so each write is tried
// again on its own: a failure is only ever reported for the write that failed. Any other
// failure fails every write of the batch, as one statement of its own would have: a dropped
// connection leaves unknown whether the statement committed (a retry could take a write that
// happened for a replay), and a timeout would only be waited for again by each write alone.
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
      /** Whether the batch was refused over its rows and rolled back (then each item is retried alone). */
      rolledBack: (err: unknown) => boolean;
      /** Called when a batch is retried item by item (counted in /metrics). */
      onRetryAlone?: (err: unknown) => void;
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
      (err: unknown) => {
        if (!this.opts.rolledBack(err)) return batch.forEach((p) => p.reject(err));
        this.opts.onRetryAlone?.(err);
        batch.forEach(one);
      },
    );
  }
}
