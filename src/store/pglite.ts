import { mkdir } from 'node:fs/promises';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import { lockDataDir } from './data-dir-lock.js';
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
  let unlock = () => {};
  if (dataDir !== undefined) {
    await mkdir(dataDir, { recursive: true });
    unlock = lockDataDir(dataDir);
  }
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir);
  } catch (err) {
    unlock();
    throw err;
  }
  const base = wrap(db);
  return {
    engine: 'pglite',
    exclusive: true,
    query: base.query,
    exec: base.exec,
    // PGlite runs one statement at a time; its transaction() holds that lock throughout,
    // so transactions here are fully serialised.
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: async () => {
      if (!db.closed) await db.close();
      unlock();
    },
  };
}
