import { mkdir } from 'node:fs/promises';
import { parse, PGlite, protocol, type Transaction } from '@electric-sql/pglite';
import { lockDataDir } from './data-dir-lock.js';
import type { Database, Queryable } from './database.js';

type BackendMessage = Parameters<typeof parse.parseResults>[0][number];

interface Prepared {
  readonly name: string;
  /** The parameters' type oids, which decide how each value is written (dates, arrays, JSON). */
  readonly parameterTypes: readonly number[];
  /** The statement's RowDescription (or nothing when it returns no rows), reused on every run. */
  readonly columns: readonly BackendMessage[];
}

/**
 * Parameterised statements as named prepared statements, each run in one call into PGlite.
 *
 * PGlite's `query()` makes six calls into WebAssembly per statement (parse, describe, bind,
 * describe, execute, sync) and has Postgres parse and plan the text every time. Here a
 * statement is parsed and described once; after that a run is one message (bind, execute,
 * sync) and one call: measured on the login's user lookup, about 110 µs of CPU instead of
 * 310–390 (docs/performance.md). It is what the PostgreSQL server gets through node-postgres's
 * named statements (postgres.ts).
 *
 * It takes the same two locks PGlite's own `query()` takes, so it never runs inside another
 * caller's transaction; inside our transaction (which holds the first) it takes only the
 * second, as PGlite's `tx.query()` does. Prepared statements belong to the session, not to a
 * transaction: a rollback keeps them. Migrations change the schema through `exec()`, which
 * forgets every statement (before and after, and again when a transaction that ran it ends,
 * since a rollback undoes the schema but not what was prepared against it), because Postgres
 * refuses a prepared statement whose result columns changed (0A000). The statements are this
 * process's own constant SQL texts; a bounded number get names (new texts arriving at once
 * may pass the bound by a few), and any beyond that go through `query()` as before. Forgotten
 * statements stay prepared in the session: exec() runs at start, so they are few.
 */
class PreparedStatements {
  readonly #byText = new Map<string, Prepared>();
  #counter = 0;

  constructor(
    private readonly db: PGlite,
    private readonly max: number,
  ) {}

  /** The rows, or undefined when `sql` has no name and there is no room for another. */
  run<Row>(sql: string, params: readonly unknown[], inTransaction: boolean): Promise<Row[]> | undefined {
    if (!this.#byText.has(sql) && this.#byText.size >= this.max) return undefined;
    const run = () => this.#runLocked<Row>(sql, params, inTransaction);
    // Our transaction already holds the transaction lock (see the class comment).
    return inTransaction ? this.db.runExclusive(run) : this.db._runExclusiveTransaction(() => this.db.runExclusive(run));
  }

  forgetAll(): void {
    this.#byText.clear();
  }

  async #runLocked<Row>(sql: string, params: readonly unknown[], inTransaction: boolean): Promise<Row[]> {
    const db = this.db;
    await db._checkReady(); // refuses once close() has begun
    const statement = this.#byText.get(sql) ?? (await this.#prepare(sql));
    const values = params.map((value, i) => {
      if (value === null || value === undefined) return null;
      const write = db.serializers[statement.parameterTypes[i]!];
      return write ? write(value) : String(value);
    });
    const messages = await db.execProtocolStream(
      Buffer.concat([protocol.serialize.bind({ statement: statement.name, values }), protocol.serialize.execute({}), protocol.serialize.sync()]),
      { syncToFs: false },
    );
    if (!inTransaction) await db.syncToFs(); // as query() does after a statement outside a transaction
    return parse.parseResults([...statement.columns, ...messages], db.parsers)[0]!.rows as Row[];
  }

  async #prepare(sql: string): Promise<Prepared> {
    const name = `gatehouse_${this.#counter++}`;
    const messages = await this.db.execProtocolStream(
      Buffer.concat([protocol.serialize.parse({ name, text: sql }), protocol.serialize.describe({ type: 'S', name }), protocol.serialize.sync()]),
      { syncToFs: false },
    );
    const prepared: Prepared = {
      name,
      parameterTypes: parse.parseDescribeStatementResults(messages),
      columns: messages.filter((m) => m.name === 'rowDescription'),
    };
    this.#byText.set(sql, prepared);
    return prepared;
  }
}

function wrap(q: PGlite | Transaction, statements: PreparedStatements, tx?: { ranExec: boolean }): Queryable {
  return {
    async query<Row>(sql: string, params?: readonly unknown[]) {
      // As tx.query() does: a transaction's handle is dead once it ended (the fast path would
      // otherwise run inside whichever transaction holds the lock then).
      if (tx && (q as Transaction).closed) throw new Error('Transaction is closed');
      const prepared = params && statements.run<Row>(sql, params, tx !== undefined);
      if (prepared) return prepared;
      const result = await q.query<Row>(sql, params as unknown[] | undefined);
      return result.rows;
    },
    async exec(sql: string) {
      if (tx) tx.ranExec = true;
      statements.forgetAll();
      try {
        await q.exec(sql);
      } finally {
        statements.forgetAll(); // also what was prepared, queued ahead, against the old schema
      }
    },
  };
}

/**
 * Embedded PostgreSQL; `dataDir` undefined keeps everything in memory, starting from the
 * cluster dumped in `startFrom` if given, or else from a new one (initdb).
 *
 * Durability on disk: in Node, PGlite mounts `dataDir` through Emscripten's NODEFS, so every
 * write Postgres makes goes straight to the operating system (there is no in-memory copy to
 * sync, and `relaxedDurability` only concerns browser file systems). With
 * synchronous_commit on (PGlite's default) a commit's WAL is written before the query
 * returns, so a killed process loses nothing it answered (test/durability.test.ts). PGlite
 * starts Postgres with fsync off and its file layer never calls fsync, so a power loss or
 * kernel crash can lose recent commits: use a PostgreSQL server where that matters.
 */
export async function openPglite(dataDir: string | undefined, opts: { startFrom?: Blob | undefined } = {}): Promise<Database> {
  let unlock = async () => {};
  if (dataDir !== undefined) {
    await mkdir(dataDir, { recursive: true });
    unlock = await lockDataDir(dataDir);
  }
  let db: PGlite;
  try {
    db = await PGlite.create(dataDir, opts.startFrom ? { loadDataDir: opts.startFrom } : {});
  } catch (err) {
    await unlock();
    throw err;
  }
  const statements = new PreparedStatements(db, 500);
  const base = wrap(db, statements);
  return {
    engine: 'pglite',
    exclusive: true,
    query: base.query,
    exec: base.exec,
    // PGlite runs one statement at a time; its transaction() holds that lock throughout,
    // so transactions here are fully serialised.
    transaction: async (fn) => {
      const state = { ranExec: false };
      try {
        return await db.transaction((tx) => fn(wrap(tx, statements, state)));
      } finally {
        if (state.ranExec) statements.forgetAll();
      }
    },
    close: async () => {
      try {
        if (!db.closed) await db.close();
      } finally {
        await unlock(); // the directory is not left locked by a process that is done with it
      }
    },
  };
}
