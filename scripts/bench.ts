// `npm run bench`: how fast Gatehouse answers, measured against a bare Express 5 app on the same
// machine in the same run, so the ratios mean something even where the absolute numbers do not.
//
// Every server is a child process started here, benchmarked alone (the load generator shares
// the CPU with it, and a second idle server would only add noise), then stopped. Any non-2xx
// answer or connection error is flagged and makes the run exit 1: a benchmark of failures
// measures the failure path, not the server.
//
//   npm run bench -- [--duration 10] [--connections 50] [--quick] [--json results.json]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { ARGON2_PARAMS } from '../src/core/passwords.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
const HOST = '127.0.0.1';
const JSON_HEADERS = { 'content-type': 'application/json' };
/** DummyJSON's best-known demo users; every demo password is `<username>pass`. */
const DEMO_USERNAMES = ['emilys', 'michaelw', 'sophiab', 'jamesd', 'emmaj'] as const;
/** How many argon2 verifications the raw measurement keeps in flight: as many as login connections. */
const ARGON2_IN_FLIGHT = 8;
/** The issue's target: GET /auth/me (validation off) at ≥ 35 % of the bare baseline's req/s. */
const TARGET_ME_VS_BARE_PCT = 35;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  durationS: number;
  warmupS: number;
  connections: number;
  refreshConnections: number;
  loginConnections: number;
  argon2S: number;
  json: string | undefined;
}

const USAGE = `usage: npm run bench -- [options]
  --duration S              seconds measured per target (default 10)
  --warmup S                discarded warm-up seconds before each measurement (default 2)
  --quick                   --duration 3 --warmup 1, and 3 s of raw argon2
  --connections N           connections for the cheap GETs (default 50)
  --refresh-connections N   connections, one refresh-token chain each (default 20)
  --login-connections N     connections for POST /auth/login (default 8)
  --json FILE               also write the raw numbers to FILE`;

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      quick: { type: 'boolean', default: false },
      connections: { type: 'string', default: '50' },
      'refresh-connections': { type: 'string', default: '20' },
      'login-connections': { type: 'string', default: '8' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const quick = values.quick;
  return {
    durationS: positiveInt('--duration', values.duration ?? (quick ? '3' : '10')),
    warmupS: positiveInt('--warmup', values.warmup ?? (quick ? '1' : '2')),
    connections: positiveInt('--connections', values.connections),
    refreshConnections: positiveInt('--refresh-connections', values['refresh-connections']),
    loginConnections: positiveInt('--login-connections', values['login-connections']),
    argon2S: quick ? 3 : 5,
    json: values.json,
  };
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

function killAllChildren(): void {
  for (const child of children) child.kill('SIGKILL');
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
      } else if (isReady && forwarded++ < 20) {
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

/** A port nobody listens on right now (the OS picks it; we close and hand it to the child). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, HOST);
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
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
  const port = await freePort();
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

async function startGatehouse(validateResponses: boolean): Promise<Server> {
  const name = `gatehouse-validation-${validateResponses ? 'on' : 'off'}`;
  const port = await freePort();
  const child = startNode(name, ['--import', 'tsx', 'src/server.ts'], {
    PORT: String(port),
    HOST,
    DATABASE_URL: 'memory://',
    SEED_DEMO: 'true',
    RATE_LIMITS: 'off', // a benchmark is exactly the traffic the limits exist to refuse
    LOG_LEVEL: 'warn', // no per-request log lines
    NODE_ENV: 'production',
    VALIDATE_RESPONSES: String(validateResponses),
  });
  const url = `http://${HOST}:${port}`;
  // PGlite start-up and argon2 seeding of 30 users take several seconds.
  await waitForLine(name, child, /^Gatehouse listening on /, 60_000);
  await waitForHttp200(`${url}/healthz`, 10_000);
  return { name, url, child };
}

/** Runs `body` against a freshly started server, and always stops it afterwards. */
async function withServer(start: () => Promise<Server>, body: (server: Server) => Promise<void>): Promise<void> {
  process.stderr.write('» starting a server…\n');
  const server = await start();
  process.stderr.write(`» ${server.name} ready on ${server.url} (pid ${server.child.pid})\n`);
  try {
    await body(server);
  } finally {
    await stopChild(server.child);
  }
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

async function login(url: string, index: number): Promise<Session> {
  const res = await fetch(`${url}/auth/login`, { method: 'POST', headers: JSON_HEADERS, body: loginBody(index) });
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
// Running and summarising

interface Run {
  key: string;
  label: string;
  connections: number;
  durationS: number;
  requestsPerSec: number;
  totalRequests: number;
  latencyAvgMs: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
}

function failed(run: Pick<Run, 'non2xx' | 'errors' | 'timeouts' | 'totalRequests'>): boolean {
  return run.non2xx > 0 || run.errors > 0 || run.timeouts > 0 || run.totalRequests === 0;
}

function summarise(s: Scenario, r: autocannon.Result): Run {
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = stat.count ?? 0;
  return {
    key: s.key,
    label: s.label,
    connections: s.connections,
    durationS: r.duration,
    requestsPerSec: r.requests.average,
    totalRequests: r.requests.total,
    latencyAvgMs: r.latency.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    statusCodes,
  };
}

async function runScenario(s: Scenario, url: string, o: Options): Promise<Run> {
  process.stderr.write(`» ${s.label}: ${s.connections} connections, ${o.warmupS} s warm-up, ${o.durationS} s measured\n`);
  const common = { connections: s.connections, pipelining: 1 };
  // The warm-up lets V8 optimise the hot paths and fills caches; its numbers are dropped.
  const warmup = summarise(s, await autocannon({ ...(await s.prepare(url)), ...common, duration: o.warmupS }));
  if (failed(warmup)) process.stderr.write(`  !! the warm-up already failed: ${describeFailure(warmup)}\n`);
  const run = summarise(s, await autocannon({ ...(await s.prepare(url)), ...common, duration: o.durationS }));
  process.stderr.write(`  ${fmt(run.requestsPerSec)} req/s, p99 ${run.latencyP99Ms} ms${failed(run) ? `  !! ${describeFailure(run)}` : ''}\n`);
  return run;
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
console.log(JSON.stringify({ inFlight, seconds: elapsed, verifications, perSecond: verifications / elapsed }));
`;

async function measureArgon2(o: Options): Promise<Argon2Result> {
  process.stderr.write(`» raw argon2id verify: ${ARGON2_IN_FLIGHT} in flight for ${o.argon2S} s\n`);
  const child = startNode('argon2', ['--input-type=module', '-e', ARGON2_CHILD], {
    BENCH_ARGON2_PARAMS: JSON.stringify(ARGON2_PARAMS),
    BENCH_ARGON2_SECONDS: String(o.argon2S),
    BENCH_ARGON2_IN_FLIGHT: String(ARGON2_IN_FLIGHT),
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`the argon2 measurement exited with code ${code}`);
  return JSON.parse(output.trim()) as Argon2Result;
}

// ---------------------------------------------------------------------------------------------
// Report

interface Machine {
  date: string;
  node: string;
  cpu: string;
  cores: number;
  platform: string;
}

function describeMachine(): Machine {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    platform: `${os.platform()} ${os.arch()}`,
  };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (part: number, whole: number) => (whole > 0 ? (100 * part) / whole : Number.NaN);

interface Derived {
  meOffVsBarePct: number;
  validationCostPct: number;
  loginVsArgon2Pct: number;
  targetMet: boolean;
}

function derive(runs: Map<string, Run>, argon2: Argon2Result): Derived {
  const rps = (key: string) => runs.get(key)?.requestsPerSec ?? Number.NaN;
  const meOffVsBarePct = pct(rps('me-off'), rps('bare'));
  return {
    meOffVsBarePct,
    // The share of throughput lost by checking every response against the contract.
    validationCostPct: pct(rps('me-off') - rps('me-on'), rps('me-off')),
    loginVsArgon2Pct: pct(rps('login-off'), argon2.perSecond),
    targetMet: meOffVsBarePct >= TARGET_ME_VS_BARE_PCT,
  };
}

function report(m: Machine, o: Options, runs: Run[], argon2: Argon2Result, d: Derived): string {
  const bare = runs.find((r) => r.key === 'bare')?.requestsPerSec ?? Number.NaN;
  const rows = runs.map(
    (r) =>
      `| ${r.label} | ${r.connections} | ${fmt(r.requestsPerSec)} | ${fmt(r.latencyP99Ms)} | ${r.non2xx}${r.errors + r.timeouts > 0 ? ` (+${r.errors} errors)` : ''}${failed(r) ? ' **FAILED**' : ''} | ${fmt(pct(r.requestsPerSec, bare), 1)} % |`,
  );
  const p = ARGON2_PARAMS;
  return [
    `## Gatehouse benchmark, ${m.date}`,
    '',
    `- Node ${m.node} on ${m.platform}; CPU: ${m.cpu}, ${m.cores} cores (autocannon runs in this process, on the same cores)`,
    `- ${o.durationS} s measured per target after a discarded ${o.warmupS} s warm-up; one target at a time`,
    '',
    '| target | connections | req/s (avg) | p99 latency (ms) | non-2xx | vs bare Express |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `- Response validation on \`GET /auth/me\` costs ${fmt(d.validationCostPct, 1)} % of throughput (${fmt(runs.find((r) => r.key === 'me-off')?.requestsPerSec ?? Number.NaN)} → ${fmt(runs.find((r) => r.key === 'me-on')?.requestsPerSec ?? Number.NaN)} req/s).`,
    `- Raw argon2id verify (m=${p.memoryCost} KiB, t=${p.timeCost}, p=${p.parallelism}; ${argon2.inFlight} in flight): ${fmt(argon2.perSecond, 1)} verifications/s; logins reach ${fmt(d.loginVsArgon2Pct, 1)} % of that.`,
    `- Target: \`GET /auth/me\` (validation off) ≥ ${TARGET_ME_VS_BARE_PCT} % of bare Express: ${fmt(d.meOffVsBarePct, 1)} %, **${d.targetMet ? 'met' : 'not met'}**.`,
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const o = parseOptions(process.argv.slice(2));
  const machine = describeMachine();
  const runs: Run[] = [];

  await withServer(startBaseline, async ({ url }) => {
    runs.push(await runScenario(bareScenario(o), url, o));
  });
  await withServer(
    () => startGatehouse(false),
    async ({ url }) => {
      runs.push(await runScenario(meScenario(o, 'off'), url, o));
      runs.push(await runScenario(refreshScenario(o), url, o));
      runs.push(await runScenario(loginScenario(o), url, o));
    },
  );
  await withServer(
    () => startGatehouse(true),
    async ({ url }) => {
      runs.push(await runScenario(meScenario(o, 'on'), url, o));
    },
  );
  // me-on ran last (it needs its own server) but belongs next to me-off in the table.
  runs.sort((a, b) => order(a.key) - order(b.key));
  const argon2 = await measureArgon2(o);

  const derived = derive(new Map(runs.map((r) => [r.key, r])), argon2);
  process.stdout.write(`\n${report(machine, o, runs, argon2, derived)}\n`);

  if (o.json) {
    await writeFile(o.json, `${JSON.stringify({ machine, options: o, runs, argon2, derived }, null, 2)}\n`);
    process.stderr.write(`» raw numbers written to ${o.json}\n`);
  }

  const failures = runs.filter(failed);
  if (failures.length > 0) {
    const lines = failures.map((r) => `!!   ${r.label}: ${describeFailure(r)}`);
    process.stderr.write(
      `\n!! ${failures.length} run(s) got non-2xx answers or errors; their numbers measure failures, not the server:\n${lines.join('\n')}\n`,
    );
    return 1;
  }
  return 0;
}

function order(key: string): number {
  return ['bare', 'me-off', 'me-on', 'refresh-off', 'login-off'].indexOf(key);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof UsageError ? `${err.message}\n${USAGE}` : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
    killAllChildren();
  },
);
