// Reads by key that are asked for in the same turn of the event loop, answered by one query.
//
// On a shared PostgreSQL server nothing may be cached (another instance can revoke a session
// at any moment), so every authenticated request reads its session. Under load many requests
// arrive together; one round trip with `= ANY($1)` for all of them costs the driver, the
// socket and the server far less than one round trip each (see docs/performance.md).
//
// Never stale: a read is answered only by a query sent after the read was asked for, never
// by one already in flight. Whatever was committed before a request arrived — a logout or a
// deactivation on any instance — is therefore seen by that request, exactly as without
// batching.

import { NextTurn } from './next-turn.js';

export class ReadBatcher<K, V> {
  #pending = new Map<K, Array<{ resolve: (v: V | undefined) => void; reject: (e: unknown) => void }>>();
  readonly #turn = new NextTurn(() => this.#send());

  constructor(
    private readonly loadMany: (keys: K[]) => Promise<Map<K, V>>,
    private readonly maxBatch: number,
  ) {}

  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.#pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else this.#pending.set(key, [{ resolve, reject }]);
      if (this.#pending.size >= this.maxBatch) this.#send();
      else this.#turn.schedule();
    });
  }

  #send(): void {
    if (this.#pending.size === 0) return;
    const batch = this.#pending;
    this.#pending = new Map();
    this.loadMany([...batch.keys()]).then(
      (rows) => {
        for (const [key, waiters] of batch) {
          const row = rows.get(key);
          for (const w of waiters) w.resolve(row);
        }
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      },
    );
  }
}
