import pg from 'pg';
import { refusedByServer, type Database, type Queryable } from './database.js';

// int8 (COUNT, bigint ids) as JS numbers: every such value here stays far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/**
 * Every parameterised statement runs as a named prepared statement, so that each connection
 * parses and plans it once instead of on every call: measured on GET /auth/me's session
 * lookup, that cut the server's CPU per query from about 165 µs to about 65 µs (see
 * docs/performance.md). The statements are this process's own constant SQL texts; a bounded
 * number get names, and any beyond that run unnamed as before. PostgreSQL refuses a prepared
 * statement whose result columns changed (0A000), so a schema change through exec() (as
 * migrations make) gives every text a fresh name, which each connection prepares anew (names
 * are forgotten before and after exec(), and when a transaction that ran it ends).
 */
class StatementNames {
  readonly #names = new Map<string, string>();
  #counter = 0;
  constructor(private readonly max: number) {}

  forgetAll(): void {
    this.#names.clear();
  }

  forget(sql: string): void {
    this.#names.delete(sql);
  }

  query(sql: string, params: readonly unknown[] | undefined): pg.QueryConfig {
    const values = params as unknown[] | undefined;
    if (!values) return { text: sql };
    let name = this.#names.get(sql);
    if (name === undefined && this.#names.size < this.max) {
      name = `gatehouse_${this.#counter++}`;
      this.#names.set(sql, name);
    }
    return name === undefined ? { text: sql, values } : { name, text: sql, values };
  }
}

/** "cached plan must not change result type": a prepared statement's result columns changed under it. */
function planChanged(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '0A000';
}

/** A query_timeout that never fires in practice: setTimeout's longest delay (about 24 days). */
const NO_QUERY_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * The pool's bounds on waiting for the server, from DATABASE_TIMEOUT_MS (`timeoutMs`; 0: none),
 * so that a row lock held elsewhere, a stalled network or a dead server fails a request instead
 * of hanging it (and its connection) forever. The server ends a statement that runs, or waits
 * for a lock, longer than that, and answers with a SQLSTATE on a connection that stays usable;
 * the client gives up a second later, for when no answer can come at all (the network), and
 * then the connection is lost. The server also ends a transaction its client left idle (a
 * stalled process) after 6 bounds, at least a minute: longer than any pause between a
 * transaction's statements here (generating a signing key). TCP keepalives notice a peer that
 * vanished without closing the connection (a dead host), even with no bound.
 */
function waitBounds(timeoutMs: number): pg.PoolConfig {
  const keepAlive = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 };
  if (timeoutMs === 0) return keepAlive;
  return {
    ...keepAlive,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs + 1_000,
    statement_timeout: timeoutMs,
    lock_timeout: timeoutMs,
    idle_in_transaction_session_timeout: Math.max(60_000, 6 * timeoutMs),
  };
}

export async function openPostgres(url: string, timeoutMs: number): Promise<Database> {
  const pool = new pg.Pool({ connectionString: url, max: 10, idleTimeoutMillis: 30_000, ...waitBounds(timeoutMs) });
  const statements = new StatementNames(500);
  // An idle connection the server ends (a restart, pg_terminate_backend, DROP DATABASE … FORCE)
  // makes the pool emit 'error'; unheard, that kills the process. The pool drops the broken
  // connection by itself, and the next query that cannot connect fails (healthz answers 503).
  pool.on('error', () => undefined);
  // Fail at start, with the driver's reason, when the server cannot be reached.
  const probe = await pool.connect();
  probe.release();
  const onPool: Queryable = {
    async query<Row>(sql: string, params?: readonly unknown[]) {
      try {
        return (await pool.query(statements.query(sql, params))).rows as Row[];
      } catch (err) {
        // Another instance changed the schema under a statement this one prepared (a rolling
        // deploy's migration changing a column's type): PostgreSQL refuses the prepared copy
        // before running anything (0A000), so it is safe to prepare afresh and run it once more.
        if (!planChanged(err) || !params) throw err;
        statements.forget(sql);
        return (await pool.query(statements.query(sql, params))).rows as Row[];
      }
    },
    async exec(sql: string) {
      statements.forgetAll();
      try {
        await pool.query(sql);
      } finally {
        statements.forgetAll(); // also what was prepared, meanwhile, against the old schema
      }
    },
  };
  return {
    engine: 'postgres',
    exclusive: false,
    query: onPool.query,
    exec: onPool.exec,
    async transaction(fn, opts = {}) {
      const client = await pool.connect();
      let ranExec = false;
      let ended = false;
      // A statement that failed without a SQLSTATE (the client gave up waiting, the connection
      // broke) may still be running or arrive later: whatever is sent next on this connection
      // waits behind it, and a ROLLBACK that timed out too would return it to the pool inside
      // a transaction. The connection is destroyed instead, which ends the transaction.
      let lost: unknown;
      const queryTimeout = opts.unbounded ? { query_timeout: NO_QUERY_TIMEOUT_MS } : {};
      const send = async (config: pg.QueryConfig) => {
        try {
          return await client.query({ ...config, ...queryTimeout });
        } catch (err) {
          if (!refusedByServer(err)) lost ??= err;
          throw err;
        }
      };
      // A handle used after its transaction ended would run on a connection back in the pool,
      // perhaps inside someone else's transaction: it refuses instead.
      const open = () => {
        if (ended) throw new Error('Transaction is closed');
      };
      try {
        await send({ text: opts.unbounded ? 'BEGIN; SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = 0' : 'BEGIN' });
        const result = await fn({
          async query<Row>(sql: string, params?: readonly unknown[]) {
            open();
            try {
              return (await send(statements.query(sql, params))).rows as Row[];
            } catch (err) {
              // As above, but the transaction is aborted now: the caller fails, the next one prepares afresh.
              if (planChanged(err)) statements.forget(sql);
              throw err;
            }
          },
          async exec(sql: string) {
            open();
            ranExec = true;
            statements.forgetAll();
            await send({ text: sql });
          },
        });
        if (lost !== undefined) throw lost; // `fn` caught the failure and went on; the connection is lost all the same
        await send({ text: 'COMMIT' });
        return result;
      } catch (err) {
        if (lost === undefined) await send({ text: 'ROLLBACK' }).catch(() => undefined);
        throw err;
      } finally {
        // A rollback undoes the schema change, not what was prepared against it.
        if (ranExec) statements.forgetAll();
        ended = true;
        client.release(lost !== undefined);
      }
    },
    close: () => (pool.ended ? Promise.resolve() : pool.end()),
  };
}
