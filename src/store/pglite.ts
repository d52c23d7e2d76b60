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

/** Embedded PostgreSQL; `dataDir` undefined keeps everything in memory. */
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
