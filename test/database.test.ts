// The Database interface on both engines, where each runs parameterised statements as named
// prepared statements (src/store/pglite.ts, src/store/postgres.ts): values of every kind the
// stores send go in and come out intact, a refused statement keeps its SQLSTATE and leaves the
// connection usable, a rollback keeps what was prepared inside it, and a schema change through
// exec() (as migrations make) does not break a statement prepared before it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, refusedByServer, refusedOverItsRows, type Database, type Queryable } from '../src/store/database.js';
import { pgliteTemplate, testDatabase } from './helpers/gatehouse.js';

const onPostgres = Boolean(process.env.TEST_DATABASE_URL);

describe(`the database (${onPostgres ? 'PostgreSQL' : 'PGlite'})`, () => {
  let db: Database;
  let drop: () => Promise<void>;
  let url: string;

  beforeEach(async () => {
    const database = await testDatabase();
    drop = database.drop;
    url = database.url;
    db = await openDatabase(
      onPostgres ? { kind: 'postgres', url: database.url, timeoutMs: 10_000 } : { kind: 'pglite-memory', startFrom: pgliteTemplate() },
    );
    await db.exec(`CREATE TABLE things (id int PRIMARY KEY, name text, at timestamptz, tags text[], data jsonb, ok boolean)`);
  });

  afterEach(async () => {
    await db.close();
    await drop();
  });

  const insert = 'INSERT INTO things (id, name, at, tags, data, ok) VALUES ($1, $2, $3, $4, $5, $6)';
  const byId = 'SELECT id, name, at, tags, data, ok FROM things WHERE id = $1';

  it('sends and reads back numbers, text, dates, arrays, JSON, booleans and nulls, again and again', async () => {
    const at = new Date('2026-12-01T10:20:30.456Z');
    for (let id = 1; id <= 3; id++) {
      await db.query(insert, [id, `name ${id} 'quoted' ü`, at, ['a', 'b,c', '"d"'], { nested: { n: id } }, id % 2 === 0]);
    }
    await db.query(insert, [4, null, null, null, null, null]);
    for (let id = 1; id <= 3; id++) {
      expect(await db.query(byId, [id])).toEqual([
        { id, name: `name ${id} 'quoted' ü`, at, tags: ['a', 'b,c', '"d"'], data: { nested: { n: id } }, ok: id % 2 === 0 },
      ]);
    }
    expect(await db.query(byId, [4])).toEqual([{ id: 4, name: null, at: null, tags: null, data: null, ok: null }]);
    expect(await db.query(byId, [5])).toEqual([]);
    expect(await db.query('SELECT count(*)::int AS n FROM things WHERE id = ANY($1::int[])', [[1, 2, 5]])).toEqual([{ n: 2 }]);
  });

  it('keeps the SQLSTATE of a refused statement, and the next statements run', async () => {
    await db.query(insert, [1, 'first', null, null, null, null]);
    const duplicate = await db.query(insert, [1, 'again', null, null, null, null]).catch((err: unknown) => err);
    expect(duplicate).toMatchObject({ code: '23505' });
    // Told apart from Node's own errors, some of whose codes are five capitals too.
    expect(refusedByServer(duplicate)).toBe(true);
    expect(refusedOverItsRows(duplicate)).toBe(true);
    expect(refusedByServer(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBe(false);
    await expect(db.query(byId, ['not a number'])).rejects.toMatchObject({ code: '22P02' });
    await expect(db.query('SELECT nonsense FROM things WHERE id = $1', [1])).rejects.toMatchObject({ code: '42703' });
    expect(await db.query(byId, [1])).toMatchObject([{ id: 1, name: 'first' }]);
    // The refused text is tried afresh, not remembered as prepared.
    await expect(db.query('SELECT nonsense FROM things WHERE id = $1', [1])).rejects.toMatchObject({ code: '42703' });
  });

  it('rolls a transaction back on a refused statement, and keeps statements prepared inside it', async () => {
    const count = 'SELECT count(*)::int AS n FROM things WHERE name = $1';
    await expect(
      db.transaction(async (tx) => {
        await tx.query(insert, [1, 'in tx', null, null, null, null]);
        expect(await tx.query(count, ['in tx'])).toEqual([{ n: 1 }]);
        await tx.query(insert, [1, 'duplicate', null, null, null, null]);
      }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(await db.query(count, ['in tx'])).toEqual([{ n: 0 }]);
    expect(await db.transaction((tx) => tx.query(count, ['in tx']))).toEqual([{ n: 0 }]);
  });

  it('runs a statement prepared before a schema change made through exec()', async () => {
    await db.query(insert, [1, 'before', null, null, null, null]);
    expect(await db.query('SELECT * FROM things WHERE id = $1', [1])).toMatchObject([{ id: 1, name: 'before' }]);
    await db.exec('ALTER TABLE things ADD COLUMN extra text');
    expect(await db.query('SELECT * FROM things WHERE id = $1', [1])).toMatchObject([{ id: 1, name: 'before', extra: null }]);
  });

  it.skipIf(!onPostgres)('prepares a statement afresh when another instance changed its result columns', async () => {
    await db.query(insert, [1, 'row', null, null, null, null]);
    const name = 'SELECT id, name FROM things WHERE id = $1';
    expect(await db.query(name, [1])).toEqual([{ id: 1, name: 'row' }]);
    // Another instance (a rolling deploy's migration) changes the column's type.
    const other = await openDatabase({ kind: 'postgres', url, timeoutMs: 10_000 });
    try {
      await other.exec('ALTER TABLE things ALTER COLUMN name TYPE varchar(100)');
    } finally {
      await other.close();
    }
    expect(await db.query(name, [1])).toEqual([{ id: 1, name: 'row' }]);
    expect(await db.query(name, [1])).toEqual([{ id: 1, name: 'row' }]);
  });

  it('runs them as prepared statements', async () => {
    const prepared = await db.transaction(async (tx) => {
      await tx.query(byId, [1]);
      return tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'gatehouse\\_%' AND statement = $1`, [byId]);
    });
    expect(prepared).toEqual([{ n: 1 }]);
  });

  it('forgets what a rolled-back transaction prepared against the schema it changed', async () => {
    await db.query(insert, [1, 'row', null, null, null, null]);
    const all = 'SELECT * FROM things WHERE id = $1';
    await expect(
      db.transaction(async (tx) => {
        await tx.exec('ALTER TABLE things ADD COLUMN extra text');
        expect(await tx.query(all, [1])).toMatchObject([{ id: 1, extra: null }]);
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    const [row] = await db.query<Record<string, unknown>>(all, [1]);
    expect(row).toMatchObject({ id: 1, name: 'row' });
    expect(row).not.toHaveProperty('extra');
  });

  it('refuses a transaction handle used after its transaction ended', async () => {
    let leaked: Queryable | undefined;
    await db.transaction(async (tx) => {
      leaked = tx;
    });
    await expect(leaked!.query(byId, [1])).rejects.toThrow('Transaction is closed');
  });

  it('never runs a plain statement inside a transaction that is open meanwhile', async () => {
    // Plain inserts asked for while a transaction is open wait for it (PGlite) or run on another
    // connection (PostgreSQL); either way the transaction's rollback must not take them along.
    let plain: Promise<unknown> | undefined;
    await expect(
      db.transaction(async (tx) => {
        await tx.query(insert, [100, 'tx', null, null, null, null]);
        plain = Promise.all([1, 2, 3, 4, 5].map((id) => db.query(insert, [id, 'plain', null, null, null, null])));
        await new Promise((resolve) => setTimeout(resolve, 50));
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    await plain;
    expect(await db.query('SELECT id FROM things ORDER BY id', [])).toEqual([1, 2, 3, 4, 5].map((id) => ({ id })));
  });

  it('serves statements from concurrent callers and a transaction without mixing them', async () => {
    const writes = Array.from({ length: 20 }, (_, i) =>
      i % 5 === 0
        ? db.transaction(async (tx) => {
            await tx.query(insert, [i, 'tx', null, null, null, null]);
            return tx.query(byId, [i]);
          })
        : db.query(insert, [i, 'plain', null, null, null, null]).then(() => db.query(byId, [i])),
    );
    const rows = await Promise.all(writes);
    rows.forEach((r, i) => expect(r).toMatchObject([{ id: i, name: i % 5 === 0 ? 'tx' : 'plain' }]));
  });
});
