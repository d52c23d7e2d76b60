// The PostgreSQL server `npm run bench` measures against: a throwaway cluster it starts itself
// (Debian's PostgreSQL, as .ci/run does: under /tmp, listening on 127.0.0.1 and its own socket
// directory only, stopped and deleted at the end), or a server given with --database-url.
// Every Gatehouse server under test gets a database of its own on it, dropped at the end.
//
// The database server shares the 2 cores with Gatehouse and the load generator, so its CPU is
// counted apart (databaseCpuS), not as "others" that would make every run look disturbed.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import pg from 'pg';

export interface PostgresUnderTest {
  /** Where it came from, for the report: "PostgreSQL 15.14, started by the benchmark" or "given". */
  description: string;
  /** A fresh, empty database on the server; dropped by close(). */
  newDatabase(): Promise<string>;
  /** CPU seconds the server's processes used so far (Linux only, else undefined). */
  cpuS(): number | undefined;
  close(): Promise<void>;
  /** For the process's 'exit' handler (Ctrl-C, a crash): stops a cluster we started, synchronously. */
  stopNow(): void;
}

/** The newest installed Debian PostgreSQL's bin directory, e.g. /usr/lib/postgresql/15/bin. */
function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(`${root}/${v}/bin/pg_ctl`))
        .sort((a, b) => Number(a) - Number(b))
    : [];
  const newest = versions.at(-1);
  if (!newest) {
    throw new Error(
      'PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/pg_ctl): install Debian\'s postgresql, or pass --database-url postgres://… (or --databases pglite)',
    );
  }
  return `${root}/${newest}/bin`;
}

/** A port nobody listens on right now (the OS picks it; we close it and hand it on). */
export async function freePort(host: string): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, host);
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * initdb + pg_ctl start under /tmp. As root, PostgreSQL refuses to run, so the cluster belongs
 * to the `postgres` user and every command runs through `runuser -u postgres --`.
 * Throws with PostgreSQL's own log when it cannot start: a benchmark that silently skipped
 * the database server would report half its targets as missing.
 */
export async function startPostgresCluster(host: string): Promise<PostgresUnderTest> {
  const bin = postgresBinDir();
  const dir = mkdtempSync('/tmp/gatehouse-bench-pg.');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), -1);
  const run = (tool: string, args: string[]) => {
    const [cmd, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', `${bin}/${tool}`, ...args]] : [`${bin}/${tool}`, args];
    return spawnSync(cmd, argv, { encoding: 'utf8' });
  };
  const fail = (what: string, output: string): never => {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL ${what} failed:\n${output}`);
  };
  const data = `${dir}/data`;
  const init = run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8']);
  if (init.status !== 0) fail('initdb', `${init.stdout}${init.stderr}`);
  const port = await freePort(host);
  const log = `${dir}/server.log`;
  // Settings a production server would have for this workload on a small machine; fsync and
  // synchronous_commit stay on (the defaults), so every commit waits for its WAL flush.
  const options = [`-c listen_addresses=${host}`, `-p ${port}`, `-k ${dir}`, '-c max_connections=200', '-c shared_buffers=128MB'];
  const start = run('pg_ctl', ['-D', data, '-o', options.join(' '), '-l', log, '-w', '-t', '60', 'start']);
  if (start.status !== 0) fail('start', `${start.stdout}${start.stderr}\n${existsSync(log) ? readFileSync(log, 'utf8') : ''}`);
  const postmasterPid = Number(readFileSync(`${data}/postmaster.pid`, 'utf8').split('\n', 1)[0]);
  // "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
  const version = /\d+(\.\d+)+/.exec(execFileSync(`${bin}/postgres`, ['--version'], { encoding: 'utf8' }))?.[0] ?? 'unknown version';
  const server = onServer(`postgres://postgres@${host}:${port}/postgres`, `PostgreSQL ${version} on ${host}:${port}, a throwaway cluster started by the benchmark`, () =>
    clusterCpuS(postmasterPid),
  );
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  };
  return {
    ...server,
    async close() {
      await server.close().catch(() => undefined);
      stopNow();
    },
    stopNow,
  };
}

/**
 * A server given by URL. Its processes are found by name (`postgres`), so another cluster on
 * the same machine is counted with it; the report says so.
 */
export async function givenPostgres(url: string): Promise<PostgresUnderTest> {
  const server = onServer(url, `the PostgreSQL server given with --database-url (${redact(url)})`, allPostgresCpuS);
  await server.newDatabase().catch((err: unknown) => {
    throw new Error(`cannot create a database on ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`);
  });
  // Its databases are left behind on a crash: nothing synchronous can drop them.
  return { ...server, stopNow: () => undefined };
}

function redact(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

function onServer(adminUrl: string, description: string, cpuS: () => number | undefined): Omit<PostgresUnderTest, 'stopNow'> {
  const created: string[] = [];
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  return {
    description,
    cpuS,
    async newDatabase() {
      const name = `gatehouse_bench_${randomBytes(6).toString('hex')}`;
      await admin(`CREATE DATABASE ${name}`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async close() {
      for (const name of created.splice(0)) await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// CPU of the database server, from /proc. A backend that exits hands its CPU time to the
// postmaster's cutime/cstime when reaped, so postmaster (own + children's) plus the live
// backends counts every backend exactly once.

const TICKS_PER_S = 100; // USER_HZ

interface ProcStat {
  pid: number;
  comm: string;
  ppid: number;
  ownS: number;
  reapedChildrenS: number;
}

function procStat(pid: number | string): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return {
      pid: Number(pid),
      comm,
      ppid: Number(f[1]),
      ownS: (Number(f[11]) + Number(f[12])) / TICKS_PER_S,
      reapedChildrenS: (Number(f[13]) + Number(f[14])) / TICKS_PER_S,
    };
  } catch {
    return undefined; // gone meanwhile, or not Linux
  }
}

function allProcs(): ProcStat[] {
  try {
    return readdirSync('/proc')
      .filter((d) => /^\d+$/.test(d))
      .map(procStat)
      .filter((p): p is ProcStat => p !== undefined);
  } catch {
    return [];
  }
}

function clusterCpuS(postmasterPid: number): number | undefined {
  const postmaster = procStat(postmasterPid);
  if (!postmaster) return undefined;
  const backends = allProcs().filter((p) => p.ppid === postmasterPid);
  return postmaster.ownS + postmaster.reapedChildrenS + backends.reduce((sum, p) => sum + p.ownS, 0);
}

function allPostgresCpuS(): number | undefined {
  const procs = allProcs().filter((p) => p.comm === 'postgres' || p.comm.startsWith('postgres:'));
  if (procs.length === 0) return undefined;
  const pids = new Set(procs.map((p) => p.pid));
  // Postmasters (parent not a postgres) also carry their reaped backends.
  return procs.reduce((sum, p) => sum + p.ownS + (pids.has(p.ppid) ? 0 : p.reapedChildrenS), 0);
}
