import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Database, Queryable } from './database.js';

function wrap(q: PGlite | Transaction): Queryable {
  return {
    async query<Row>(sql: string, params?: readonly unknown[]) {
      const result = await q.query<Row>(sql, params as unknown[] | undefined);
      return result.rows;
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
  };
}

/**
 * Embedded PostgreSQL; `dataDir` undefined keeps everything in memory.
 *
 * Durability on disk: in Node, PGlite mounts `dataDir` through Emscripten's NODEFS, so every
 * write Postgres makes goes straight to the operating system (there is no in-memory copy to
 * sync, and `relaxedDurability` only concerns browser file systems). With
 * synchronous_commit on (PGlite's default) a commit's WAL is written before the query
 * returns, so a killed process loses nothing it answered (test/durability.test.ts). PGlite
 * starts Postgres with fsync off and its file layer never calls fsync, so a power loss or
 * kernel crash can lose recent commits: use a PostgreSQL server where that matters.
 */
export async function openPglite(dataDir: string | undefined): Promise<Database> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  const base = wrap(db);
  return {
    engine: 'pglite',
    exclusive: true,
    query: base.query,
    exec: base.exec,
    // PGlite runs one statement at a time; its transaction() holds that lock throughout,
    // so transactions here are fully serialised.
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: () => (db.closed ? Promise.resolve() : db.close()),
  };
}
