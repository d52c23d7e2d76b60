// `node --import tsx scripts/enumeration.ts`: does any login route tell an attacker which
// accounts exist? For every credential-checking route it sends interleaved pairs of requests,
// one with an unknown account and one with a known account and a wrong secret, and compares
// the two: status and body must be byte-identical, and the median latencies must differ by
// less than --bound percent (20 by default, the project's target; CI passes a tolerant bound
// because it shares 2 cores with everything else). Exits 1 on any difference.
//
//   node --import tsx scripts/enumeration.ts [--tries 50] [--bound 20]
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { startGatehouse } from '../src/gatehouse.js';

const { values } = parseArgs({
  options: { tries: { type: 'string', default: '50' }, bound: { type: 'string', default: '20' } },
});
const TRIES = Number(values.tries);
const BOUND_PCT = Number(values.bound);
if (!(TRIES >= 5) || !(BOUND_PCT > 0)) throw new Error('--tries must be at least 5 and --bound above 0');

interface Probe {
  route: string;
  path: string;
  headers?: Record<string, string>;
  unknown: unknown;
  wrong: unknown;
}

const JSON_TYPE = { 'Content-Type': 'application/json' };
const PROBES: Probe[] = [
  {
    route: 'DummyJSON POST /auth/login',
    path: '/auth/login',
    unknown: { username: 'no-such-user-x', password: 'wrong-password' },
    wrong: { username: 'emilys', password: 'wrong-password' },
  },
  {
    route: 'CoCart POST /wp-json/cocart/v2/login',
    path: '/wp-json/cocart/v2/login',
    unknown: { username: 'nobody@example.com', password: 'wrong-password' },
    wrong: { username: 'emily.johnson@x.dummyjson.com', password: 'wrong-password' },
  },
  {
    route: 'Maho customer grant',
    path: '/api/rest/v2/auth/token',
    unknown: { email: 'nobody@example.com', password: 'wrong-password' },
    wrong: { email: 'emily.johnson@x.dummyjson.com', password: 'wrong-password' },
  },
  {
    route: 'Maho client_credentials grant',
    path: '/api/rest/v2/auth/token',
    unknown: { grant_type: 'client_credentials', client_id: 'ghc_00000000000000000000000000000000', client_secret: 'wrong' },
    wrong: { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'wrong' },
  },
  {
    route: 'Maho api_user grant',
    path: '/api/rest/v2/auth/token',
    unknown: { grant_type: 'api_user', username: 'nobody', api_key: 'wrong' },
    wrong: { grant_type: 'api_user', username: 'demo-api', api_key: 'wrong' },
  },
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function send(url: string, p: Probe, body: unknown): Promise<{ ms: number; status: number; text: string }> {
  const start = performance.now();
  const res = await fetch(url + p.path, { method: 'POST', headers: { ...JSON_TYPE, ...p.headers }, body: JSON.stringify(body) });
  const text = await res.text();
  return { ms: performance.now() - start, status: res.status, text };
}

const config = loadConfig({
  HOST: '127.0.0.1',
  PORT: '0',
  DATABASE_URL: 'memory://',
  SEED_DEMO: 'true',
  RATE_LIMITS: 'off', // this measures the check itself, not the limiter in front of it
  LOG_LEVEL: 'warn',
  NODE_ENV: 'production',
});
const gatehouse = await startGatehouse(config);
let failed = false;
try {
  const rows: string[] = [];
  for (const p of PROBES) {
    for (let i = 0; i < 3; i++) await send(gatehouse.url, p, i % 2 ? p.wrong : p.unknown); // warm up
    const unknown: number[] = [];
    const wrong: number[] = [];
    const answers = new Set<string>();
    for (let i = 0; i < TRIES; i++) {
      // Alternate which goes first, so drift in the machine's speed hits both alike.
      const pair = i % 2 ? [['unknown', p.unknown], ['wrong', p.wrong]] : [['wrong', p.wrong], ['unknown', p.unknown]];
      for (const [kind, body] of pair as Array<['unknown' | 'wrong', unknown]>) {
        const r = await send(gatehouse.url, p, body);
        (kind === 'unknown' ? unknown : wrong).push(r.ms);
        answers.add(`${r.status} ${r.text}`);
      }
    }
    const [mu, mw] = [median(unknown), median(wrong)];
    const diffPct = (Math.abs(mu - mw) / Math.max(mu, mw)) * 100;
    const sameAnswer = answers.size === 1;
    const ok = sameAnswer && diffPct < BOUND_PCT;
    if (!ok) failed = true;
    rows.push(
      `| ${p.route} | ${[...answers][0]!.split(' ')[0]} | ${sameAnswer ? 'yes' : `**no** (${answers.size} different)`} | ${mu.toFixed(2)} | ${mw.toFixed(2)} | ${diffPct.toFixed(1)} % | ${ok ? 'ok' : '**FAIL**'} |`,
    );
  }
  process.stdout.write(
    [
      `\n## Enumeration check: ${TRIES} pairs per route, bound ${BOUND_PCT} %\n`,
      '| route | status | identical answers | median ms, unknown account | median ms, wrong secret | difference | verdict |',
      '| --- | ---: | --- | ---: | ---: | ---: | --- |',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  await gatehouse.close();
}
if (failed) {
  process.stderr.write('Enumeration check FAILED: a route answers unknown and known accounts differently.\n');
  process.exit(1);
}
