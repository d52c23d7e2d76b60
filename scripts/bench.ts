// `npm run bench`: how fast Gatehouse answers, on embedded PGlite and on a PostgreSQL server,
// measured against a bare Express 5 app on the same machine in the same run, so the ratios
// mean something even where the absolute numbers do not.
//
// Every server is a child process started here, and so is the PostgreSQL server unless one is
// given (scripts/bench-postgres.ts); the targets are measured one at a time (the load
// generator shares the CPU with the server), in rounds that interleave them. Any non-2xx
// answer or connection error is flagged and makes the run exit 1: a benchmark of failures
// measures the failure path, not the server.
//
//   npm run bench -- [--duration 8] [--rounds 3] [--databases pglite,postgres] [--database-url postgres://…]
//                    [--quick] [--only refresh,login] [--cpu-prof DIR] [--json results.json]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { demoUsers } from '../src/core/demo-users.js';
import { ARGON2_PARAMS } from '../src/core/passwords.js';
import { freePort, givenPostgres, startPostgresCluster, type PostgresUnderTest } from './bench-postgres.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const JSON_HEADERS = { 'content-type': 'application/json' };
/** DummyJSON's best-known demo users; every demo password is `<username>pass`. */
const DEMO_USERNAMES = ['emilys', 'michaelw', 'sophiab', 'jamesd', 'emmaj'] as const;
/** How many argon2 verifications the raw measurement keeps in flight: as many as login connections. */
const ARGON2_IN_FLIGHT = 8;
/** Issue 6's targets, on both databases. */
const TARGETS = {
  /** GET /auth/me, % of the bare baseline's req/s, response validation off and on. */
  meOffVsBarePct: 50,
  meOnVsBarePct: 35,
  /** req/s of the token-issuing and token-checking routes (refresh, CoCart validate, Maho client_credentials). */
  tokenRps: { pglite: 500, postgres: 1000 },
  /** logins/s, % of raw argon2id verifications/s at the same parameters. */
  loginVsArgon2Pct: 80,
} as const;

type Engine = 'pglite' | 'postgres';
const ENGINES: readonly Engine[] = ['pglite', 'postgres'];
const ENGINE_LABEL: Record<Engine, string> = { pglite: 'PGlite', postgres: 'PostgreSQL' };
/**
 * Rate limits stay on, as deployed: every refresh and login counts against its buckets (in
 * memory on PGlite, in the shared PostgreSQL table on a server). Only the ceilings are raised,
 * because one load generator on one IP is exactly the traffic the defaults exist to refuse.
 */
const BENCH_RATE_LIMIT = '1000000000/60';

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  refreshConnections: number;
  loginConnections: number;
  argon2S: number;
  json: string | undefined;
  databases: Engine[];
  databaseUrl: string | undefined;
  rateLimits: boolean;
  /** Scenario keys to run (all when undefined). */
  only: string[] | undefined;
  cpuProfDir: string | undefined;
  /** Measure at once, whatever else runs (for profiles; the numbers are then not comparable). */
  ignoreLoad: boolean;
}

const SCENARIO_KEYS = ['bare', 'me-off', 'me-on', 'cocart-validate-off', 'maho-client-credentials-off', 'refresh-off', 'login-off'];

const USAGE = `usage: npm run bench -- [options]
  --duration S              seconds measured per target (default 8)
  --rounds N                measure every target N times, interleaved; report medians (default 1)
  --warmup S                discarded warm-up seconds before each measurement (default 2)
  --quick                   --duration 3 --warmup 1, and 3 s of raw argon2
  --databases LIST          pglite, postgres or both (default pglite,postgres)
  --database-url URL        measure on this PostgreSQL server (a database of its own is created
                            and dropped on it) instead of starting a throwaway cluster under /tmp
  --rate-limits on|off      on (default): as deployed, with ceilings no benchmark reaches
  --only KEYS               only these targets (comma-separated): ${SCENARIO_KEYS.join(', ')}
  --cpu-prof DIR            run the Gatehouse servers under node --cpu-prof, profiles into DIR
  --ignore-load             neither wait for a quiet machine nor repeat disturbed runs (profiling)
  --connections N           connections for the cheap GETs (default 50)
  --refresh-connections N   connections, one refresh-token chain each (default 20)
  --login-connections N     connections for POST /auth/login (default 8)
  --json FILE               also write the raw numbers to FILE`;

function parseOptions(argv: string[]): Options {
  const { values } = parseFlags(argv);
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  const databases = values.databases.split(',').map((d) => d.trim());
  const unknownDb = databases.find((d) => !(ENGINES as readonly string[]).includes(d));
  if (unknownDb !== undefined || databases.length === 0) throw new UsageError(`--databases takes pglite, postgres or both (got ${JSON.stringify(values.databases)})`);
  if (values['database-url'] !== undefined && !/^postgres(ql)?:\/\//.test(values['database-url'])) {
    throw new UsageError('--database-url must be a postgres:// URL');
  }
  if (values['rate-limits'] !== 'on' && values['rate-limits'] !== 'off') throw new UsageError('--rate-limits takes on or off');
  const only = values.only?.split(',').map((k) => k.trim());
  const unknownKey = only?.find((k) => !SCENARIO_KEYS.includes(k));
  if (unknownKey !== undefined) throw new UsageError(`--only: no target ${JSON.stringify(unknownKey)}; there are ${SCENARIO_KEYS.join(', ')}`);
  return {
    databases: ENGINES.filter((e) => databases.includes(e)),
    databaseUrl: values['database-url'],
    rateLimits: values['rate-limits'] === 'on',
    only,
    cpuProfDir: values['cpu-prof'],
    ignoreLoad: values['ignore-load'],
    rounds: positiveInt('--rounds', values.rounds),
    durationS: positiveInt('--duration', values.duration ?? (quick ? '3' : '8')),
    warmupS: positiveInt('--warmup', values.warmup ?? (quick ? '1' : '2')),
    connections: positiveInt('--connections', values.connections),
    refreshConnections: positiveInt('--refresh-connections', values['refresh-connections']),
    loginConnections: positiveInt('--login-connections', values['login-connections']),
    argon2S: quick ? 3 : 5,
    json: values.json,
  };
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        duration: { type: 'string' },
        rounds: { type: 'string', default: '1' },
        warmup: { type: 'string' },
        quick: { type: 'boolean', default: false },
        connections: { type: 'string', default: '50' },
        'refresh-connections': { type: 'string', default: '20' },
        'login-connections': { type: 'string', default: '8' },
        databases: { type: 'string', default: 'pglite,postgres' },
        'database-url': { type: 'string' },
        'rate-limits': { type: 'string', default: 'on' },
        only: { type: 'string' },
        'cpu-prof': { type: 'string' },
        'ignore-load': { type: 'boolean', default: false },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    // An unknown or malformed flag: say so with the usage, not with a stack trace.
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number ≥ 1 (got ${JSON.stringify(value)})`);
  return n;
}

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked so that an error or Ctrl-C never leaves a server behind.

const children = new Set<ChildProcess>();
/** Stops a PostgreSQL cluster this script started, synchronously (pg_ctl runs it as a daemon). */
const stopNowOnExit = new Set<() => void>();

function killAllChildren(): void {
  for (const child of children) child.kill('SIGKILL');
  for (const stop of stopNowOnExit) stop();
}

process.on('exit', killAllChildren);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`\n${signal}: stopping the servers\n`);
    process.exit(130); // the 'exit' handler kills the children
  });
}

/** Starts `node <args>` in the repo root; its pid is the server's own (no npm or shell between). */
function startNode(name: string, args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  forwardStderr(name, child);
  return child;
}

/** A child's stderr goes to ours, prefixed and capped: a flood of errors must not hide the report. */
function forwardStderr(name: string, child: ChildProcess): void {
  let lines = 0;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    lines += 1;
    if (lines <= 20) process.stderr.write(`[${name}] ${line}\n`);
    else if (lines === 21) process.stderr.write(`[${name}] (further stderr lines suppressed)\n`);
  });
}

/**
 * Resolves when the child prints a line matching `ready`; rejects if it exits first. Its later
 * stdout (warnings, with LOG_LEVEL=warn) is forwarded like stderr so anomalies stay visible.
 */
function waitForLine(name: string, child: ChildProcess, ready: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let isReady = false;
    let forwarded = 0;
    const timer = setTimeout(() => reject(new Error(`${name} did not start within ${timeoutMs / 1000} s`)), timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with code ${code} before it was ready`));
    };
    child.once('exit', onExit);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!isReady && ready.test(line)) {
        isReady = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve();
      } else if (isReady && !line.startsWith('  ') && forwarded++ < 20) {
        // Indented lines are the rest of the start-up banner; anything else is news.
        process.stderr.write(`[${name}] ${line}\n`);
      }
    });
  });
}

/** SIGTERM for a clean shutdown, SIGKILL if that takes more than 5 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitForHttp200(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not accepting connections yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

// ---------------------------------------------------------------------------------------------
// The servers under test

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  /** The PostgreSQL server it works on, whose CPU is counted apart; none for PGlite and the baseline. */
  database?: PostgresUnderTest | undefined;
}

/**
 * The baseline: Express 5 with nothing but one JSON route, shaped like a small profile. Plain
 * JavaScript through `node -e` (no tsx), so it is as bare as Express gets.
 */
const BASELINE_APP = `
import express from 'express';
const profile = { id: 1, username: 'emilys', email: 'emily.johnson@x.dummyjson.com' };
const app = express();
app.get('/', (req, res) => { res.json(profile); });
const server = app.listen(Number(process.env.PORT), process.env.HOST, (err) => {
  if (err) throw err;
  console.log('baseline listening on http://' + process.env.HOST + ':' + process.env.PORT);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

async function startBaseline(): Promise<Server> {
  const name = 'bare-express';
  const port = await freePort(HOST);
  const child = startNode(name, ['--input-type=module', '-e', BASELINE_APP], {
    PORT: String(port),
    HOST,
    NODE_ENV: 'production',
  });
  const url = `http://${HOST}:${port}`;
  await waitForLine(name, child, /listening on/, 30_000);
  await waitForHttp200(`${url}/`, 10_000);
  return { name, url, child };
}

async function startGatehouse(engine: Engine, validateResponses: boolean, o: Options, postgres: PostgresUnderTest | undefined): Promise<Server> {
  const name = `gatehouse-${engine}-validation-${validateResponses ? 'on' : 'off'}`;
  const port = await freePort(HOST);
  const databaseUrl = engine === 'pglite' ? 'memory://' : await postgres!.newDatabase();
  // One directory per server: Node writes a profile per thread (tsx's loader runs in one of its own).
  const profiling = o.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', `${o.cpuProfDir}/${name}`];
  const child = startNode(name, [...profiling, '--import', 'tsx', 'src/server.ts'], {
    PORT: String(port),
    HOST,
    DATABASE_URL: databaseUrl,
    SEED_DEMO: 'true',
    RATE_LIMITS: o.rateLimits ? 'on' : 'off',
    RATE_LIMIT_LOGIN_IP: BENCH_RATE_LIMIT,
    RATE_LIMIT_LOGIN_ACCOUNT: BENCH_RATE_LIMIT,
    RATE_LIMIT_REFRESH_IP: BENCH_RATE_LIMIT,
    RATE_LIMIT_REFRESH_ACCOUNT: BENCH_RATE_LIMIT,
    LOG_LEVEL: 'warn', // no per-request log lines
    NODE_ENV: 'production',
    VALIDATE_RESPONSES: String(validateResponses),
    SHUTDOWN_DELAY_MS: '0',
  });
  const url = `http://${HOST}:${port}`;
  // Start-up and argon2 seeding of 30 users take several seconds.
  await waitForLine(name, child, /^Gatehouse listening on /, 60_000);
  await waitForHttp200(`${url}/healthz`, 10_000);
  return { name, url, child, database: postgres };
}

interface Servers {
  bare: Server;
  gatehouse: Partial<Record<Engine, { validationOff: Server; validationOn: Server }>>;
  /** The PostgreSQL server, when measured. */
  postgres: PostgresUnderTest | undefined;
}

/**
 * All servers stay up for the whole run, so that rounds can interleave the targets: a drift in
 * the machine's speed then touches every target alike, not just the last ones. An idle server
 * costs next to nothing, and whatever it does use is counted under "others". They start one
 * after the other because Gatehouse's start-up (argon2 seeding) is CPU-heavy.
 */
async function startServers(o: Options): Promise<Servers> {
  const started: Server[] = [];
  let postgres: PostgresUnderTest | undefined;
  const start = async (how: () => Promise<Server>) => {
    const server = await how();
    started.push(server);
    process.stderr.write(`» ${server.name} ready on ${server.url} (pid ${server.child.pid})\n`);
    return server;
  };
  try {
    if (o.databases.includes('postgres')) {
      process.stderr.write(o.databaseUrl ? '» checking the PostgreSQL server given…\n' : '» starting a throwaway PostgreSQL cluster…\n');
      postgres = o.databaseUrl ? await givenPostgres(o.databaseUrl) : await startPostgresCluster(HOST);
      stopNowOnExit.add(postgres.stopNow);
      process.stderr.write(`» ${postgres.description}\n`);
    }
    const bare = await start(startBaseline);
    const gatehouse: Servers['gatehouse'] = {};
    for (const engine of o.databases) {
      gatehouse[engine] = {
        validationOff: await start(() => startGatehouse(engine, false, o, postgres)),
        validationOn: await start(() => startGatehouse(engine, true, o, postgres)),
      };
    }
    return { bare, gatehouse, postgres };
  } catch (err) {
    await Promise.all(started.map((server) => stopChild(server.child)));
    await postgres?.close();
    throw err;
  }
}

async function stopServers(servers: Servers): Promise<void> {
  const all = [servers.bare, ...Object.values(servers.gatehouse).flatMap((g) => [g.validationOff, g.validationOn])];
  await Promise.all(all.map((server) => stopChild(server.child)));
  await servers.postgres?.close();
  if (servers.postgres) stopNowOnExit.delete(servers.postgres.stopNow);
}

// ---------------------------------------------------------------------------------------------
// Sessions, made before a run so that the run measures only the endpoint under test

interface Session {
  accessToken: string;
  refreshToken: string;
}

function loginBody(index: number): string {
  const username = DEMO_USERNAMES[index % DEMO_USERNAMES.length]!;
  return JSON.stringify({ username, password: `${username}pass`, expiresInMins: 60 });
}

/**
 * The sessions the `/auth/me` and refresh targets start from belong to all 30 demo users in
 * turn: concurrent refreshers are different people, as in a deployment (one person does not
 * refresh four sessions at once), and the store batches at most one rotation per user.
 */
const SESSION_USERNAMES = demoUsers().map((u) => u.username);

async function login(url: string, index: number): Promise<Session> {
  const username = SESSION_USERNAMES[index % SESSION_USERNAMES.length]!;
  const body = JSON.stringify({ username, password: `${username}pass`, expiresInMins: 60 });
  const res = await fetch(`${url}/auth/login`, { method: 'POST', headers: JSON_HEADERS, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`login for the benchmark failed: ${res.status} ${text}`);
  const { accessToken, refreshToken } = JSON.parse(text) as Partial<Session>;
  if (typeof accessToken !== 'string' || typeof refreshToken !== 'string') {
    throw new Error(`login answered 200 without tokens: ${text}`);
  }
  return { accessToken, refreshToken };
}

/** `count` distinct sessions (several per demo user), logged in a few at a time. */
async function loginMany(url: string, count: number): Promise<Session[]> {
  const sessions: Session[] = [];
  for (let i = 0; i < count; i += 8) {
    const batch = Array.from({ length: Math.min(8, count - i) }, (_, j) => login(url, i + j));
    sessions.push(...(await Promise.all(batch)));
  }
  return sessions;
}

/**
 * Gives every autocannon connection its own item. setupClient runs once per connection, so
 * this is the per-connection state autocannon's `context` cannot hold: the context is reset
 * each time a connection wraps around its `requests` list, i.e. before every request here.
 */
function onePerConnection<T>(items: T[], what: string): (take: (item: T) => void) => void {
  let next = 0;
  return (take) => {
    const item = items[next++];
    if (item === undefined) throw new Error(`more connections than ${what} (${items.length})`);
    take(item);
  };
}

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  key: string;
  label: string;
  connections: number;
  /**
   * The autocannon options for one run. Called separately for the warm-up and for the
   * measurement, because a run that is stopped mid-request leaves its refresh chains with
   * tokens already spent on the server: a chain must never outlive its run.
   */
  prepare(url: string): Promise<autocannon.Options>;
}

/** A scenario and the server it runs against. */
interface Target {
  /** `bare`, or `<engine>/<scenario key>`. */
  key: string;
  engine: Engine | undefined;
  scenario: Scenario;
  server: Server;
}

const targetKey = (engine: Engine | undefined, scenarioKey: string) => (engine ? `${engine}/${scenarioKey}` : scenarioKey);

/** In table order: the baseline, then each database's rows, each next to the one it is compared with. */
function targets(o: Options, servers: Servers): Target[] {
  const list: Target[] = [{ key: 'bare', engine: undefined, scenario: bareScenario(o), server: servers.bare }];
  for (const engine of o.databases) {
    const g = servers.gatehouse[engine]!;
    const scenarios: Array<[Scenario, Server]> = [
      [meScenario(o, 'off'), g.validationOff],
      [meScenario(o, 'on'), g.validationOn],
      [cocartValidateScenario(o), g.validationOff],
      [mahoClientCredentialsScenario(o), g.validationOff],
      [refreshScenario(o), g.validationOff],
      [loginScenario(o), g.validationOff],
    ];
    for (const [scenario, server] of scenarios) list.push({ key: targetKey(engine, scenario.key), engine, scenario, server });
  }
  // The baseline always runs: every ratio needs it.
  return o.only ? list.filter((t) => t.key === 'bare' || o.only!.includes(t.scenario.key)) : list;
}

/** The scenarios whose target is a ratio to the baseline. */
const RATIO_SCENARIOS = new Set(['me-off', 'me-on']);

/**
 * The order within a round: the baseline right before every target compared with it (and
 * once at the start when none is), so each ratio's two sides are measured seconds apart,
 * not minutes. On this VM the speed of the whole machine wanders by tens of percent from one
 * minute to the next (docs/performance.md), and a ratio taken across such a change measures
 * the machine, not the server.
 */
function measurementOrder(list: Target[]): Target[] {
  const bare = list.find((t) => t.key === 'bare')!;
  const rest = list.filter((t) => t !== bare);
  const order = rest.flatMap((t) => (RATIO_SCENARIOS.has(t.scenario.key) ? [bare, t] : [t]));
  return order[0] === bare ? order : [bare, ...order];
}

function bareScenario(o: Options): Scenario {
  return {
    key: 'bare',
    label: 'bare Express 5 `GET /`',
    connections: o.connections,
    prepare: async (url) => ({ url: `${url}/` }),
  };
}

function meScenario(o: Options, validation: 'off' | 'on'): Scenario {
  let sessions: Session[] | undefined; // access tokens stay valid across runs: log in once
  return {
    key: `me-${validation}`,
    label: `\`GET /auth/me\` (bearer), validation ${validation}`,
    connections: o.connections,
    prepare: async (url) => {
      sessions ??= await loginMany(url, o.connections);
      const assign = onePerConnection(sessions, 'sessions');
      return {
        url,
        setupClient: (client) =>
          assign((s) =>
            client.setRequests([{ method: 'GET', path: '/auth/me', headers: { authorization: `Bearer ${s.accessToken}` } }]),
          ),
      };
    },
  };
}

/** CoCart tokens are bound to the login's User-Agent, so every request sends the same one. */
const BENCH_UA = 'gatehouse-bench/1';

async function cocartLogin(url: string, index: number): Promise<string> {
  const username = DEMO_USERNAMES[index % DEMO_USERNAMES.length]!;
  const res = await fetch(`${url}/wp-json/cocart/v2/login`, {
    method: 'POST',
    headers: { ...JSON_HEADERS, 'user-agent': BENCH_UA },
    body: JSON.stringify({ username, password: `${username}pass` }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`CoCart login for the benchmark failed: ${res.status} ${text}`);
  return (JSON.parse(text) as { extras: { jwt_token: string } }).extras.jwt_token;
}

/** POST /wp-json/cocart/jwt/validate-token: verify + session check, like GET /auth/me. */
function cocartValidateScenario(o: Options): Scenario {
  let tokens: string[] | undefined;
  return {
    key: 'cocart-validate-off',
    label: '`POST /wp-json/cocart/jwt/validate-token` (bearer), validation off',
    connections: o.connections,
    prepare: async (url) => {
      tokens ??= await Promise.all(Array.from({ length: o.connections }, (_, i) => cocartLogin(url, i)));
      const assign = onePerConnection(tokens, 'CoCart sessions');
      return {
        url,
        setupClient: (client) =>
          assign((token) =>
            client.setRequests([
              {
                method: 'POST',
                path: '/wp-json/cocart/jwt/validate-token',
                headers: { authorization: `Bearer ${token}`, 'user-agent': BENCH_UA },
              },
            ]),
          ),
      };
    },
  };
}

/** POST /api/rest/v2/auth/token with client_credentials: a secret check, a session row and a signature each. */
function mahoClientCredentialsScenario(o: Options): Scenario {
  const body = JSON.stringify({ grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret' });
  return {
    key: 'maho-client-credentials-off',
    label: '`POST /api/rest/v2/auth/token` (client_credentials), validation off',
    connections: o.refreshConnections,
    prepare: async (url) => ({ url, requests: [{ method: 'POST', path: '/api/rest/v2/auth/token', headers: JSON_HEADERS, body }] }),
  };
}

/**
 * Refresh tokens are single use: each connection sends its chain's latest token and keeps the
 * one that comes back. Replaying a spent token after the grace window revokes the session, so
 * chains are never shared between connections.
 */
function refreshScenario(o: Options): Scenario {
  return {
    key: 'refresh-off',
    label: '`POST /auth/refresh` (rotating chain per connection), validation off',
    connections: o.refreshConnections,
    prepare: async (url) => {
      const assign = onePerConnection(await loginMany(url, o.refreshConnections), 'sessions');
      return { url, setupClient: (client) => assign((chain) => client.setRequests([refreshRequest(chain)])) };
    },
  };
}

function refreshRequest(chain: Session): autocannon.Request {
  return {
    method: 'POST',
    path: '/auth/refresh',
    headers: JSON_HEADERS,
    setupRequest: (req) => ({ ...req, body: JSON.stringify({ refreshToken: chain.refreshToken }) }),
    onResponse: (status, body) => {
      if (status !== 200) return; // counted in non2xx; the chain is broken and stays visible as such
      const { refreshToken } = JSON.parse(body) as { refreshToken?: unknown };
      if (typeof refreshToken === 'string') chain.refreshToken = refreshToken;
    },
  };
}

/** Each login does one argon2id verification: cycling users keeps it from being one hot row. */
function loginScenario(o: Options): Scenario {
  let counter = 0;
  return {
    key: 'login-off',
    label: '`POST /auth/login`, validation off',
    connections: o.loginConnections,
    prepare: async (url) => ({
      url,
      requests: [
        { method: 'POST', path: '/auth/login', headers: JSON_HEADERS, setupRequest: (req) => ({ ...req, body: loginBody(counter++) }) },
      ],
    }),
  };
}

// ---------------------------------------------------------------------------------------------
// Who used the CPU. The load generator and the server already fill both cores, so any third
// process (a test run, a build) silently takes throughput from one target and not from the
// next, and the ratios stop meaning anything. So we wait for a quiet machine before each
// target, measure what others used during it, and repeat a run they disturbed. Splitting our
// own use between server and load generator also shows which of the two was the bottleneck.
// Linux only (/proc); elsewhere these numbers are simply missing.

interface CpuSample {
  at: number;
  /** CPU seconds spent busy by the whole machine, all cores together. */
  machineS: number;
  /** CPU seconds used by this process, i.e. the load generator (autocannon runs in it). */
  selfS: number;
  /** CPU seconds used by the server under test, all its threads (0 when there is none). */
  serverS: number;
  /** CPU seconds used by the PostgreSQL server it works on (0 when there is none). */
  databaseS: number;
}

interface CpuUse {
  /** Share of the machine's total capacity used by other processes, in %. */
  otherPct: number;
  /** Cores' worth of CPU used by the server, its PostgreSQL server and the load generator. */
  serverCores: number;
  databaseCores: number;
  loadGeneratorCores: number;
}

const TICKS_PER_S = 100; // USER_HZ: 100 on every mainstream Linux

function machineBusyS(): number {
  return os.cpus().reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0) / 1000;
}

/** utime + stime of a process from /proc/<pid>/stat, or undefined off Linux or once it is gone. */
function processCpuS(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S; // fields 14 and 15 of proc(5)
  } catch {
    return undefined;
  }
}

function sampleCpu(serverPid: number | undefined, database?: PostgresUnderTest): CpuSample | undefined {
  const selfS = processCpuS(process.pid);
  const serverS = serverPid === undefined ? 0 : processCpuS(serverPid);
  const databaseS = database === undefined ? 0 : database.cpuS();
  if (selfS === undefined || serverS === undefined || databaseS === undefined) return undefined;
  return { at: performance.now(), machineS: machineBusyS(), selfS, serverS, databaseS };
}

function cpuUse(from: CpuSample | undefined, to: CpuSample | undefined): CpuUse | undefined {
  if (!from || !to) return undefined;
  const wallS = (to.at - from.at) / 1000;
  const serverS = to.serverS - from.serverS;
  const selfS = to.selfS - from.selfS;
  const databaseS = to.databaseS - from.databaseS;
  const otherS = to.machineS - from.machineS - serverS - selfS - databaseS;
  return {
    otherPct: Math.max(0, (100 * otherS) / (wallS * os.cpus().length)),
    serverCores: serverS / wallS,
    databaseCores: databaseS / wallS,
    loadGeneratorCores: selfS / wallS,
  };
}

/** Above this share of the machine used by others, a run's numbers are not comparable. */
const BUSY_PCT = 10;
/** How long to wait for a quiet machine, and how often to repeat a disturbed run. */
const QUIET_WAIT_S = 90;
const ATTEMPTS = 3;

/** Waits (up to QUIET_WAIT_S) until others use less than BUSY_PCT of the machine for a full second. */
async function waitForQuietMachine(sample: () => CpuSample | undefined): Promise<void> {
  const deadline = Date.now() + QUIET_WAIT_S * 1000;
  let told = false;
  for (;;) {
    const from = sample();
    await sleep(1000);
    const use = cpuUse(from, sample());
    if (use === undefined || use.otherPct < BUSY_PCT) return;
    if (Date.now() > deadline) {
      process.stderr.write(`  !! still busy after ${QUIET_WAIT_S} s; measuring anyway\n`);
      return;
    }
    if (!told) process.stderr.write(`  other processes use ${fmt(use.otherPct)} % of the CPU; waiting for them…\n`);
    told = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Running and summarising

interface Run {
  round: number;
  key: string;
  engine: Engine | undefined;
  label: string;
  connections: number;
  durationS: number;
  requestsPerSec: number;
  /** Spread of the per-second samples: on a shared 2-core machine it is rarely small. */
  requestsPerSecStddev: number;
  totalRequests: number;
  latencyAvgMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** CPU use during the measurement (Linux only). */
  cpu: CpuUse | undefined;
  /** 1 unless earlier attempts were disturbed by other processes and thrown away. */
  attempt: number;
}

function failed(run: Pick<Run, 'non2xx' | 'errors' | 'timeouts' | 'totalRequests'>): boolean {
  return run.non2xx > 0 || run.errors > 0 || run.timeouts > 0 || run.totalRequests === 0;
}

function busy(run: Run): boolean {
  return (run.cpu?.otherPct ?? 0) >= BUSY_PCT;
}

function summarise(t: Target, round: number, r: autocannon.Result, cpu: CpuUse | undefined, attempt: number): Run {
  const s = t.scenario;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  return {
    round,
    key: t.key,
    engine: t.engine,
    label: s.label,
    connections: s.connections,
    durationS: r.duration,
    requestsPerSec: r.requests.average,
    requestsPerSecStddev: r.requests.stddev,
    totalRequests: r.requests.total,
    latencyAvgMs: r.latency.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
    cpu,
    attempt,
  };
}

/** Warm-up, then measurement; repeated when other processes took a share of the CPU meanwhile. */
async function runScenario(t: Target, round: number, o: Options): Promise<Run> {
  const s = t.scenario;
  const of = o.rounds > 1 ? ` (round ${round} of ${o.rounds})` : '';
  const on = t.engine ? ` [${ENGINE_LABEL[t.engine]}]` : '';
  process.stderr.write(`» ${s.label}${on}${of}: ${s.connections} connections, ${o.warmupS} s warm-up, ${o.durationS} s measured\n`);
  for (let attempt = 1; ; attempt++) {
    const run = await measureOnce(t, round, o, attempt);
    const use = run.cpu
      ? `; CPU: server ${fmt(run.cpu.serverCores, 2)}${t.server.database ? `, PostgreSQL ${fmt(run.cpu.databaseCores, 2)}` : ''}, load generator ${fmt(run.cpu.loadGeneratorCores, 2)} cores, others ${fmt(run.cpu.otherPct)} %`
      : '';
    const notes = [failed(run) ? `!! ${describeFailure(run)}` : '', busy(run) ? '!! disturbed by other processes' : ''];
    process.stderr.write(`  ${[`${fmt(run.requestsPerSec)} req/s, p99 ${run.latencyP99Ms} ms${use}`, ...notes.filter(Boolean)].join('  ')}\n`);
    // A failed run is never retried away: its failures must reach the report and the exit code.
    if (!busy(run) || failed(run) || attempt === ATTEMPTS || o.ignoreLoad) return run;
    process.stderr.write(`  repeating (attempt ${attempt + 1} of ${ATTEMPTS})\n`);
  }
}

async function measureOnce(t: Target, round: number, o: Options, attempt: number): Promise<Run> {
  const { scenario: s, server } = t;
  const sample = () => sampleCpu(server.child.pid, server.database);
  if (!o.ignoreLoad) await waitForQuietMachine(sample);
  const common = { connections: s.connections, pipelining: 1 };
  // The warm-up lets V8 optimise the hot paths and fills caches; its numbers are dropped.
  const warmup = await autocannon({ ...(await s.prepare(server.url)), ...common, duration: o.warmupS });
  const warm = summarise(t, round, warmup, undefined, attempt);
  if (failed(warm)) process.stderr.write(`  !! the warm-up already failed: ${describeFailure(warm)}\n`);
  const options = await s.prepare(server.url);
  const before = sample();
  const result = await autocannon({ ...options, ...common, duration: o.durationS });
  return summarise(t, round, result, cpuUse(before, sample()), attempt);
}

function describeFailure(r: Run): string {
  const codes = Object.entries(r.statusCodes)
    .filter(([code]) => !code.startsWith('2'))
    .map(([code, n]) => `${n}× ${code}`);
  return `${r.non2xx} non-2xx${codes.length ? ` (${codes.join(', ')})` : ''}, ${r.errors} errors, ${r.timeouts} timeouts, ${r.totalRequests} requests`;
}

// ---------------------------------------------------------------------------------------------
// Raw argon2id throughput: the ceiling for logins on this machine

interface Argon2Result {
  inFlight: number;
  seconds: number;
  verifications: number;
  perSecond: number;
  /** CPU seconds the child used, all threads: lets us tell what other processes took meanwhile. */
  cpuS: number;
  /** Share of the machine used by other processes meanwhile, in % (Linux only). */
  otherCpuPct?: number | undefined;
}

/** A raw argon2id measurement taken right after one login run: that run's ceiling. */
interface Ceiling extends Argon2Result {
  engine: Engine;
  round: number;
}

/**
 * Verifies one hash over and over, ARGON2_IN_FLIGHT at a time, in a child process so it runs
 * under the same conditions as the server: its own libuv thread pool on the same cores.
 * The parameters come from the server's own module, so the two cannot drift apart.
 */
const ARGON2_CHILD = `
import { hash, verify } from '@node-rs/argon2';
const params = JSON.parse(process.env.BENCH_ARGON2_PARAMS);
const seconds = Number(process.env.BENCH_ARGON2_SECONDS);
const inFlight = Number(process.env.BENCH_ARGON2_IN_FLIGHT);
const stored = await hash('emilyspass', params);
await Promise.all(Array.from({ length: inFlight }, () => verify(stored, 'emilyspass'))); // warm-up
let verifications = 0;
const start = performance.now();
const end = start + seconds * 1000;
async function lane() {
  while (performance.now() < end) {
    if (!(await verify(stored, 'emilyspass'))) throw new Error('argon2 verify returned false');
    verifications += 1;
  }
}
await Promise.all(Array.from({ length: inFlight }, lane));
const elapsed = (performance.now() - start) / 1000;
const { user, system } = process.cpuUsage();
console.log(JSON.stringify({ inFlight, seconds: elapsed, verifications, perSecond: verifications / elapsed, cpuS: (user + system) / 1e6 }));
`;

/** Like a benchmark run: waits for a quiet machine, and repeats a measurement others disturbed. */
async function measureArgon2(o: Options): Promise<Argon2Result> {
  process.stderr.write(`» raw argon2id verify: ${ARGON2_IN_FLIGHT} in flight for ${o.argon2S} s\n`);
  for (let attempt = 1; ; attempt++) {
    if (!o.ignoreLoad) await waitForQuietMachine(() => sampleCpu(undefined));
    const result = await measureArgon2Once(o);
    const others = result.otherCpuPct ?? 0;
    process.stderr.write(`  ${fmt(result.perSecond, 1)} verifications/s; others ${fmt(others)} %${others >= BUSY_PCT ? '  !! disturbed by other processes' : ''}\n`);
    if (others < BUSY_PCT || attempt === ATTEMPTS || o.ignoreLoad) return result;
    process.stderr.write(`  repeating (attempt ${attempt + 1} of ${ATTEMPTS})\n`);
  }
}

async function measureArgon2Once(o: Options): Promise<Argon2Result> {
  const before = sampleCpu(undefined);
  const child = startNode('argon2', ['--input-type=module', '-e', ARGON2_CHILD], {
    BENCH_ARGON2_PARAMS: JSON.stringify(ARGON2_PARAMS),
    BENCH_ARGON2_SECONDS: String(o.argon2S),
    BENCH_ARGON2_IN_FLIGHT: String(ARGON2_IN_FLIGHT),
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the argon2 measurement exited with code ${code}`);
  const result = JSON.parse(output.trim()) as Argon2Result;
  // The child is gone from /proc by now: count its CPU as if it were the server's.
  const after = sampleCpu(undefined);
  const use = before && after ? cpuUse(before, { ...after, serverS: result.cpuS }) : undefined;
  return { ...result, otherCpuPct: use?.otherPct };
}

// ---------------------------------------------------------------------------------------------
// Report

interface Machine {
  date: string;
  /** The code measured: the commit, plus "(modified)" when src/ differs from it. */
  commit: string;
  node: string;
  cpu: string;
  cores: number;
  platform: string;
}

function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    commit: describeCommit(),
    node: process.version,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    platform: `${os.platform()} ${os.arch()}`,
  };
}

/** Numbers belong to a version of the code; src/ may hold uncommitted edits while we measure. */
function describeCommit(): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
  try {
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', 'src') ? ' (src/ modified)' : ''}`;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : Number.NaN);

function median(values: number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One table row: a target over all its rounds. Medians, so one disturbed round cannot skew it. */
interface Row {
  key: string;
  engine: Engine | undefined;
  label: string;
  connections: number;
  requestsPerSec: number;
  latencyP99Ms: number;
  non2xx: number;
  errors: number;
  failed: boolean;
  serverCores: number | undefined;
  databaseCores: number | undefined;
  loadGeneratorCores: number | undefined;
  /** The worst round. */
  otherCpuPct: number | undefined;
}

function toRows(runs: Run[]): Row[] {
  const keys = [...new Set(runs.map((r) => r.key))];
  return keys.map((key) => {
    const mine = runs.filter((r) => r.key === key);
    const first = mine[0]!;
    const cpu = mine.map((r) => r.cpu).filter((c) => c !== undefined);
    const medianOf = (f: (c: CpuUse) => number) => (cpu.length ? median(cpu.map(f)) : undefined);
    return {
      key,
      engine: first.engine,
      label: first.label,
      connections: first.connections,
      requestsPerSec: median(mine.map((r) => r.requestsPerSec)),
      latencyP99Ms: median(mine.map((r) => r.latencyP99Ms)),
      non2xx: mine.reduce((sum, r) => sum + r.non2xx, 0),
      errors: mine.reduce((sum, r) => sum + r.errors, 0),
      failed: mine.some(failed),
      serverCores: medianOf((c) => c.serverCores),
      databaseCores: medianOf((c) => c.databaseCores),
      loadGeneratorCores: medianOf((c) => c.loadGeneratorCores),
      otherCpuPct: cpu.length ? Math.max(...cpu.map((c) => c.otherPct)) : undefined,
    };
  });
}

/** One of issue 6's targets on one database, and whether this run met it. */
interface Check {
  engine: Engine;
  what: string;
  value: number;
  unit: '%' | 'req/s';
  target: number;
  /** The ratio in each round, for the ratios taken within a round. */
  byRound: number[] | undefined;
  met: boolean;
}

/**
 * Ratios to the baseline are taken within each round, then the median: pairs measured close
 * together drift least. Absolute targets (req/s) use the rows' medians. A target whose row
 * was not measured (--only) is left out.
 */
function checks(o: Options, runs: Run[], rows: Row[], ceilings: Ceiling[]): Check[] {
  const rps = (key: string, round: number) => runs.find((r) => r.key === key && r.round === round)?.requestsPerSec ?? Number.NaN;
  const byRound = (f: (round: number) => number) => Array.from({ length: o.rounds }, (_, i) => f(i + 1));
  const list: Check[] = [];
  const add = (c: Omit<Check, 'met'>) => {
    if (!Number.isNaN(c.value)) list.push({ ...c, met: c.value >= c.target });
  };
  // Each ratio against the baseline measured just before and just after it in the same round
  // (the mean of the two, or the one there is): the pair closest in time.
  const vsAdjacentBare = (k: string, round: number) => {
    const inRound = runs.filter((r) => r.round === round);
    const at = inRound.findIndex((r) => r.key === k);
    if (at < 0) return Number.NaN;
    const adjacent = [inRound[at - 1], inRound[at + 1]].filter((r) => r?.key === 'bare').map((r) => r!.requestsPerSec);
    const bare = adjacent.length ? adjacent.reduce((a, b) => a + b, 0) / adjacent.length : rps('bare', round);
    return pct(inRound[at]!.requestsPerSec, bare);
  };
  for (const engine of o.databases) {
    const key = (k: string) => targetKey(engine, k);
    const vsBare = (k: string) => byRound((n) => vsAdjacentBare(key(k), n));
    const meOff = vsBare('me-off');
    const meOn = vsBare('me-on');
    add({ engine, what: '`GET /auth/me`, validation off, vs bare Express', value: median(meOff), unit: '%', target: TARGETS.meOffVsBarePct, byRound: meOff });
    add({ engine, what: '`GET /auth/me`, validation on, vs bare Express', value: median(meOn), unit: '%', target: TARGETS.meOnVsBarePct, byRound: meOn });
    const row = (k: string) => rows.find((r) => r.key === key(k))?.requestsPerSec ?? Number.NaN;
    const tokenTarget = TARGETS.tokenRps[engine];
    add({ engine, what: 'CoCart `validate-token`', value: row('cocart-validate-off'), unit: 'req/s', target: tokenTarget, byRound: undefined });
    add({ engine, what: 'Maho `client_credentials`', value: row('maho-client-credentials-off'), unit: 'req/s', target: tokenTarget, byRound: undefined });
    add({ engine, what: '`POST /auth/refresh`', value: row('refresh-off'), unit: 'req/s', target: tokenTarget, byRound: undefined });
    // Each login run against the raw argon2id measured right after it, as the baseline beside
    // each /auth/me run: the machine's speed drifts between rounds.
    const ceiling = (round: number) => ceilings.find((c) => c.engine === engine && c.round === round)?.perSecond ?? Number.NaN;
    const login = byRound((n) => pct(rps(key('login-off'), n), ceiling(n)));
    add({ engine, what: '`POST /auth/login` vs raw argon2id', value: median(login), unit: '%', target: TARGETS.loginVsArgon2Pct, byRound: login });
  }
  return list;
}

/** Cost of response validation on /auth/me per database: the share of throughput it takes, per round. */
function validationCost(o: Options, runs: Run[], engine: Engine): number[] {
  const rps = (k: string, round: number) => runs.find((r) => r.key === targetKey(engine, k) && r.round === round)?.requestsPerSec ?? Number.NaN;
  return Array.from({ length: o.rounds }, (_, i) => pct(rps('me-off', i + 1) - rps('me-on', i + 1), rps('me-off', i + 1)));
}

function report(m: Machine, o: Options, rows: Row[], runs: Run[], ceilings: Ceiling[], list: Check[], postgres: string | undefined): string {
  const bareRps = rows.find((r) => r.key === 'bare')?.requestsPerSec ?? Number.NaN;
  const p = ARGON2_PARAMS;
  const perRound = (values: number[] | undefined) =>
    o.rounds > 1 && values ? ` (rounds: ${values.map((v) => `${fmt(v, 1)} %`).join(', ')})` : '';
  const stat = o.rounds > 1 ? `median of ${o.rounds}` : 'avg';
  const limits = o.rateLimits
    ? `rate limits on (in memory on PGlite, the shared table on PostgreSQL), ceilings raised to ${BENCH_RATE_LIMIT} so that nothing is refused`
    : 'rate limits OFF';
  return [
    `## Gatehouse benchmark, ${m.date}`,
    '',
    `- Commit ${m.commit}; Node ${m.node} on ${m.platform}; CPU: ${m.cpu}, ${m.cores} cores (autocannon runs in this process, on the same cores)`,
    `- ${o.durationS} s measured per target after a discarded ${o.warmupS} s warm-up; one target at a time; ${o.rounds} round(s); ${limits}`,
    ...(postgres ? [`- PostgreSQL: ${postgres}`] : []),
    '',
    `| database | target | connections | req/s (${stat}) | p99 latency (ms) | non-2xx | vs bare Express | CPU cores: server / PostgreSQL / autocannon | CPU used by others |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map((r) => tableRow(r, bareRps)),
    '',
    ...busyWarning(rows, o),
    ...(ceilings.some((c) => (c.otherCpuPct ?? 0) >= BUSY_PCT)
      ? [`- **Warning:** other processes used ≥ ${BUSY_PCT} % of the CPU during a raw argon2 measurement.`]
      : []),
    ...(ceilings.length
      ? [
          `- Raw argon2id verify (m=${p.memoryCost} KiB, t=${p.timeCost}, p=${p.parallelism}; ${ARGON2_IN_FLIGHT} in flight), measured right after each login run: ${o.databases
            .map((e) => `${ENGINE_LABEL[e]} ${ceilings.filter((c) => c.engine === e).map((c) => fmt(c.perSecond, 1)).join(', ')}`)
            .join('; ')} verifications/s (median ${fmt(median(ceilings.map((c) => c.perSecond)), 1)}).`,
        ]
      : []),
    ...o.databases.flatMap((engine) => {
      const cost = validationCost(o, runs, engine);
      return Number.isNaN(median(cost)) ? [] : [`- ${ENGINE_LABEL[engine]}: response validation on \`GET /auth/me\` costs ${fmt(median(cost), 1)} % of its throughput${perRound(cost)}.`];
    }),
    '',
    'Targets (issue 6):',
    '',
    '| database | target | measured | needed | |',
    '| --- | --- | ---: | ---: | --- |',
    ...list.map(
      (c) =>
        `| ${ENGINE_LABEL[c.engine]} | ${c.what}${perRound(c.byRound)} | ${fmt(c.value, c.unit === '%' ? 1 : 0)}${c.unit === '%' ? ' %' : ' req/s'} | ≥ ${fmt(c.target)}${c.unit === '%' ? ' %' : ' req/s'} | **${c.met ? 'met' : 'NOT MET'}** |`,
    ),
  ].join('\n');
}

function tableRow(r: Row, bareRps: number): string {
  const non2xx = `${r.non2xx}${r.errors > 0 ? ` (+${r.errors} errors)` : ''}${r.failed ? ' **FAILED**' : ''}`;
  const dbCores = r.engine === 'postgres' ? fmt(r.databaseCores ?? Number.NaN, 2) : '–';
  const cores = r.serverCores === undefined ? 'n/a' : `${fmt(r.serverCores, 2)} / ${dbCores} / ${fmt(r.loadGeneratorCores ?? Number.NaN, 2)}`;
  const others = r.otherCpuPct === undefined ? 'n/a' : `${fmt(r.otherCpuPct)} %${r.otherCpuPct >= BUSY_PCT ? ' **busy**' : ''}`;
  const database = r.engine ? ENGINE_LABEL[r.engine] : '–';
  const cells = [database, r.label, r.connections, fmt(r.requestsPerSec), fmt(r.latencyP99Ms), non2xx, `${fmt(pct(r.requestsPerSec, bareRps), 1)} %`, cores, others];
  return `| ${cells.join(' | ')} |`;
}

function busyWarning(rows: Row[], o: Options): string[] {
  const busyRows = rows.filter((r) => (r.otherCpuPct ?? 0) >= BUSY_PCT);
  if (busyRows.length === 0) return [];
  return [
    `- **Warning:** other processes used ≥ ${BUSY_PCT} % of the CPU during ${busyRows.map((r) => `${r.label}${r.engine ? ` [${ENGINE_LABEL[r.engine]}]` : ''}`).join('; ')}, ${o.ignoreLoad ? 'measured at once (--ignore-load)' : `even after ${ATTEMPTS} attempts`}. Those rows are not comparable with the others; rerun on a quiet machine.`,
  ];
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const machine = describeMachine();

  process.stderr.write('» starting the servers…\n');
  const servers = await startServers(o);
  const postgres = servers.postgres?.description;
  const runs: Run[] = [];
  const ceilings: Ceiling[] = [];
  try {
    const order = measurementOrder(targets(o, servers));
    for (let round = 1; round <= o.rounds; round++) {
      for (const target of order) {
        runs.push(await runScenario(target, round, o));
        // The ceiling for logins, right after each login run (the servers idle meanwhile).
        if (target.scenario.key === 'login-off') ceilings.push({ ...(await measureArgon2(o)), engine: target.engine!, round });
      }
    }
  } finally {
    await stopServers(servers);
  }

  const rows = toRows(runs);
  const list = checks(o, runs, rows, ceilings);
  process.stdout.write(`\n${report(machine, o, rows, runs, ceilings, list, postgres)}\n`);

  if (o.json) {
    await writeFile(o.json, `${JSON.stringify({ machine, options: o, postgres, rows, checks: list, argon2: ceilings, runs }, null, 2)}\n`);
    process.stderr.write(`» raw numbers written to ${o.json}\n`);
  }

  const failures = runs.filter(failed);
  if (failures.length > 0) {
    const lines = failures.map((r) => `!!   ${r.label}${r.engine ? ` [${ENGINE_LABEL[r.engine]}]` : ''}, round ${r.round}: ${describeFailure(r)}`);
    process.stderr.write(
      `\n!! ${failures.length} run(s) got non-2xx answers or errors; their numbers measure failures, not the server:\n${lines.join('\n')}\n`,
    );
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const message = err instanceof UsageError ? `${err.message}\n${USAGE}` : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${message}\n`);
    process.exitCode = 1;
    killAllChildren();
  },
);
