// One small interface over the two PostgreSQL engines Gatehouse runs on: embedded PGlite
// (one process owns the data) and a PostgreSQL server through node-postgres (many processes
// share it). Every query is plain PostgreSQL with $n parameters, so both run the same SQL.
import type { DatabaseTarget } from '../config.js';

export interface Queryable {
  /** Runs one parameterised statement and returns its rows. */
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Database extends Queryable {
  readonly engine: 'pglite' | 'postgres';
  /**
   * True when no other process can write to this database (embedded PGlite): caches of
   * rows are then exact as long as every write goes through this process's store.
   */
  readonly exclusive: boolean;
  /**
   * Runs `fn` in one transaction; rolls back when it throws. `unbounded`: its statements may
   * wait as long as they need, past DATABASE_TIMEOUT_MS (migrations wait for one another).
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>, opts?: { unbounded?: boolean }): Promise<T>;
  close(): Promise<void>;
}

/**
 * Whether PostgreSQL itself refused a statement (the error carries a SQLSTATE): the statement
 * then rolled back. Any other failure, like a dropped connection, may have come after a commit.
 */
export function refusedByServer(err: unknown): boolean {
  // A server's error carries a severity beside its SQLSTATE; Node's own errors have none, and
  // some of their codes (EPIPE, EPROTO) are five capitals too.
  const { code, severity } = (err ?? {}) as { code?: unknown; severity?: unknown };
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string';
}

/**
 * Whether PostgreSQL refused a statement over the rows it wrote or met: a constraint (class
 * 23), a deadlock (40P01) or a serialization failure (40001). It rolled back, and the same
 * writes one by one may succeed. A timeout (57014, 55P03), a cancellation, a lack of resources
 * or a broken connection are not such refusals: each write alone would only wait again, for
 * as long, while holding the pool's connections (see WriteBatcher).
 */
export function refusedOverItsRows(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return refusedByServer(err) && typeof code === 'string' && (code.startsWith('23') || code === '40P01' || code === '40001');
}

export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === 'postgres') {
    const { openPostgres } = await import('./postgres.js');
    return openPostgres(target.url, target.timeoutMs);
  }
  const { openPglite } = await import('./pglite.js');
  return target.kind === 'pglite' ? openPglite(target.dataDir) : openPglite(undefined, { startFrom: target.startFrom });
}
