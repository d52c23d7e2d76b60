// A bounded read-through cache that never keeps a stale row.
//
// A read that misses loads from the database; if any invalidation happened while that load
// was in flight, the loaded row may predate the write, so it is returned but not kept.
// Only safe where every write goes through this process (Database.exclusive).

export class RowCache<K, V> {
  readonly #rows = new Map<K, V>();
  #epoch = 0;

  constructor(private readonly maxEntries: number) {}

  async get(key: K, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.#rows.get(key);
    if (hit !== undefined) return hit;
    const epoch = this.#epoch;
    const row = await load();
    if (row !== undefined && epoch === this.#epoch) {
      // Map keeps insertion order: dropping the first key evicts the oldest entry.
      if (this.#rows.size >= this.maxEntries) this.#rows.delete(this.#rows.keys().next().value as K);
      this.#rows.set(key, row);
    }
    return row;
  }

  delete(key: K): void {
    this.#epoch++;
    this.#rows.delete(key);
  }

  deleteWhere(match: (row: V) => boolean): void {
    this.#epoch++;
    for (const [key, row] of this.#rows) if (match(row)) this.#rows.delete(key);
  }
}
