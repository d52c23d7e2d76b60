// Every login and token route throttles per client IP and per account, and charges the account
// rather than its spelling (email, case, phone), so spelling it differently buys no extra
// guesses. One table over all routes (OWASP Authentication and Credential Stuffing Prevention
// cheat sheets: throttle by account as well as by source, since an attacker rotates addresses).
// A user account counts failures per client network, so that one address cannot lock its owner
// out from everywhere, and from all networks together, with a higher limit.
// An address past its limit gets 429 in its dialect's format with Retry-After; a user account
// past its limit is refused exactly like a wrong password, since a 429 there would tell which
// accounts exist (the counter of a real account is shared by its spellings, an unknown one's not).
//
// The server trusts X-Forwarded-For here, so each attempt can come from an address of the
// test's choosing: the per-account limits are shown to hold across addresses of one network and
// across networks, and the per-IP limit across accounts.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../generated/client/client/index.js';
import { cocartLogin, dummyjsonLogin, mahoToken, oauthToken } from '../../generated/client/sdk.gen.js';
import { createLogger } from '../../src/http/logging.js';
import { cocartError } from '../helpers/cocart.js';
import { startTestServer, type TestServer } from '../helpers/gatehouse.js';
import { mahoError } from '../helpers/maho.js';
import { basic, DEMO_CLIENT, newOAuthClient } from '../helpers/oauth.js';

const IP_LIMIT = 4;
const ACCOUNT_LIMIT = 3;
const ACCOUNT_TOTAL_LIMIT = 6;
const WINDOW_S = 60;

interface Route {
  name: string;
  /** One attempt with this login and secret, from this client address. */
  attempt(client: Client, ip: string, login: string, secret: string): Promise<{ error?: unknown; response: Response }>;
  /** What a wrong secret gets, and what a throttled attempt gets. */
  refused: { status: number; body: unknown };
  limited: unknown;
  /** An account of its own (limits are per account, shared by every route), its secret, and other spellings of it. */
  account(t: TestServer): Promise<{ login: string; secret: string; spellings: string[] }>;
  /**
   * API clients: failures count per client *and address*. A client_id is no secret (it is in
   * every token of its client), so a per-name lockout would let anyone lock any client out.
   */
  perAddress?: true;
  /**
   * User accounts: two spellings of a real account (another one than `account`'s) and two of
   * an unknown one, alike in kind (e.g. email then username, or two formats of a phone).
   */
  probe?: { known: [string, string]; unknown: [string, string] };
}

const xff = (ip: string) => ({ 'X-Forwarded-For': ip });

const demoUser = (login: string, username: string, spellings: string[]) => async () => ({ login, secret: `${username}pass`, spellings });

const ROUTES: Route[] = [
  {
    name: 'DummyJSON POST /auth/login',
    attempt: (client, ip, username, password) => dummyjsonLogin({ client, body: { username, password }, headers: xff(ip) }),
    refused: { status: 400, body: { message: 'Invalid credentials' } },
    limited: { message: 'Too many requests, try again later' },
    // DummyJSON logs in by username only: its case is the one other spelling.
    account: demoUser('sophiab', 'sophiab', ['SOPHIAB', ' Sophiab ']),
    probe: { known: ['OLIVIAW', 'oliviaw'], unknown: ['NOBODYW', 'nobodyw'] },
  },
  {
    name: 'CoCart POST /wp-json/cocart/v2/login',
    attempt: (client, ip, username, password) => cocartLogin({ client, body: { username, password }, headers: xff(ip) }),
    refused: { status: 401, body: cocartError(401, 'cocart_authentication_error', 'Authentication failed.') },
    limited: cocartError(429, 'cocart_rate_limit_reached', 'Too many requests. Please wait and try again.'),
    account: demoUser('emilys', 'emilys', ['Emily.Johnson@x.dummyjson.com', 'EMILYS', '+81 965-431-3024', '819654313024']),
    probe: { known: ['+1 555-0111', '15550111'], unknown: ['+1 555-0999', '15550999'] },
  },
  {
    name: 'Maho POST /api/rest/v2/auth/token (customer)',
    // Maho takes an email, or a login name in `username`.
    attempt: (client, ip, login, password) =>
      mahoToken({ client, body: login.includes('@') ? { email: login, password } : { username: login, password }, headers: xff(ip) }),
    refused: { status: 401, body: mahoError(401, 'invalid_credentials', 'Invalid email or password') },
    limited: mahoError(429, 'too_many_requests', 'Too many requests, try again later'),
    account: demoUser('james.davis@x.dummyjson.com', 'jamesd', ['JAMES.DAVIS@X.DUMMYJSON.COM', 'jamesd']),
    probe: { known: ['ava.taylor@x.dummyjson.com', 'avat'], unknown: ['nobody.taylor@x.dummyjson.com', 'nobodyt'] },
  },
  {
    name: 'Maho POST /api/rest/v2/auth/token (client_credentials)',
    perAddress: true,
    attempt: (client, ip, client_id, client_secret) =>
      mahoToken({ client, body: { grant_type: 'client_credentials', client_id, client_secret }, headers: xff(ip) }),
    refused: { status: 401, body: mahoError(401, 'invalid_client', 'Invalid client credentials') },
    limited: mahoError(429, 'too_many_requests', 'Too many requests, try again later'),
    account: async (t) => {
      const { secret } = await t.gatehouse.services.servicePrincipals.create('api_client', { name: 'maho-throttled', permissions: ['all'] });
      return { login: 'maho-throttled', secret, spellings: ['MAHO-THROTTLED', 'Maho-Throttled'] };
    },
  },
  {
    name: 'OAuth POST /oauth/token (password)',
    attempt: (client, ip, username, password) =>
      oauthToken({ client, body: { grant_type: 'password', username, password }, headers: { ...xff(ip), ...basic(DEMO_CLIENT.id, DEMO_CLIENT.secret) } }),
    refused: { status: 400, body: { error: 'invalid_grant', error_description: 'Invalid username or password' } },
    limited: { error: 'temporarily_unavailable', error_description: 'Too many requests, try again later' },
    account: demoUser('michaelw', 'michaelw', ['michael.williams@x.dummyjson.com', 'MICHAELW', 'Michael.Williams@X.dummyjson.com']),
    probe: { known: ['ethan.martinez@x.dummyjson.com', 'ethanm'], unknown: ['nobody.martinez@x.dummyjson.com', 'nobodym'] },
  },
  {
    name: 'OAuth POST /oauth/token (client_credentials)',
    perAddress: true,
    attempt: (client, ip, id, secret) => oauthToken({ client, body: { grant_type: 'client_credentials' }, headers: { ...xff(ip), ...basic(id, secret) } }),
    refused: { status: 401, body: { error: 'invalid_client', error_description: 'Client authentication failed' } },
    limited: { error: 'temporarily_unavailable', error_description: 'Too many requests, try again later' },
    account: async (t) => {
      const { id, secret } = await newOAuthClient(t, ['client_credentials']);
      return { login: id, secret, spellings: [id.toUpperCase()] };
    },
  },
];

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({
    RATE_LIMITS: 'on',
    RATE_LIMIT_LOGIN_IP: `${IP_LIMIT}/${WINDOW_S}`,
    RATE_LIMIT_LOGIN_ACCOUNT: `${ACCOUNT_LIMIT}/${WINDOW_S}`,
    RATE_LIMIT_LOGIN_ACCOUNT_TOTAL: `${ACCOUNT_TOTAL_LIMIT}/${WINDOW_S}`,
    TRUST_PROXY: 'true',
  });
});
afterAll(() => t.close());

// Every test takes addresses of its own, so no two share a per-IP counter.
let nextAddress = 0;
const freshIp = () => `198.51.100.${++nextAddress}`;
/** A fresh IPv6 /64: `at(i)` is its i-th address, all of them one client network. */
const freshNetwork = () => {
  const prefix = `2001:db8:${++nextAddress}:7`;
  return { at: (i: number) => `${prefix}::${i + 1}` };
};

function expectLimited(route: Route, result: { error?: unknown; response: Response }, what: string) {
  expect(result.response.status, what).toBe(429);
  expect(result.error, what).toEqual(route.limited);
  expect(result.response.headers.get('cache-control')).toBe('no-store');
  const retryAfter = Number(result.response.headers.get('retry-after'));
  expect(retryAfter, 'Retry-After').toBeGreaterThanOrEqual(1);
  expect(retryAfter, 'Retry-After').toBeLessThanOrEqual(WINDOW_S);
}

describe.each(ROUTES.filter((r) => r.perAddress))('$name', (route) => {
  it('throttles failed attempts per client and address, whatever the spelling; other addresses are not locked out', async () => {
    const { login, secret, spellings } = await route.account(t);
    const ip = freshIp();
    expect((await route.attempt(t.client, ip, login, secret)).response.status, 'a success first').toBe(200);
    for (let i = 0; i < ACCOUNT_LIMIT; i++) {
      const { error, response } = await route.attempt(t.client, ip, i === 0 ? login : spellings[i % spellings.length]!, 'wrong-secret');
      expect(response.status, `failure ${i + 1}`).toBe(route.refused.status);
      expect(error).toEqual(route.refused.body);
    }
    for (const spelling of [login, ...spellings]) expectLimited(route, await route.attempt(t.client, ip, spelling, secret), spelling);
    expect((await route.attempt(t.client, freshIp(), login, secret)).response.status, 'from elsewhere').toBe(200);
  });
});

/** gatehouse_rate_limited_total of the buckets login:account and login:account-total on GET /metrics (0 when absent). */
async function accountRejectionsReported(): Promise<number> {
  const response = await fetch(`${t.url}/metrics`);
  expect(response.status).toBe(200);
  const samples = (await response.text()).matchAll(/^gatehouse_rate_limited_total\{bucket="login:account(?:-total)?"\} (\d+)$/gm);
  return [...samples].reduce((sum, m) => sum + Number(m[1]), 0);
}

function expectRefused(route: Route, result: { error?: unknown; response: Response }, what: string) {
  expect(result.response.status, what).toBe(route.refused.status);
  expect(result.error, what).toEqual(route.refused.body);
  expect(result.response.headers.get('retry-after'), what).toBeNull();
}

describe.each(ROUTES.filter((r) => !r.perAddress))('$name', (route) => {
  it(`throttles failed attempts per account and client network, whatever the spelling, answering like a wrong password; the owner elsewhere still logs in`, async () => {
    const { login, secret, spellings } = await route.account(t);
    expect((await route.attempt(t.client, freshIp(), login, secret)).response.status, 'a success first').toBe(200);
    // Failures from one network, each from another of its addresses and under another spelling.
    const network = freshNetwork();
    for (let i = 0; i < ACCOUNT_LIMIT; i++) {
      expectRefused(route, await route.attempt(t.client, network.at(i), i === 0 ? login : spellings[i % spellings.length]!, 'wrong-secret'), `failure ${i + 1}`);
    }
    // Even the right secret is refused now from that network, and the answer is a wrong
    // password's, not a 429; from any other network it still gets in.
    expectRefused(route, await route.attempt(t.client, network.at(ACCOUNT_LIMIT), spellings[0]!, secret), 'the same network');
    expect((await route.attempt(t.client, freshIp(), spellings.at(-1)!, secret)).response.status, 'another network').toBe(200);
    // Failures from many networks count together, with a higher limit. The attempt refused by
    // its network's limit above counted for nothing here: were it counted, the total would be
    // full one failure sooner and the right secret below refused.
    const manyNetworks = ACCOUNT_TOTAL_LIMIT - ACCOUNT_LIMIT - 1;
    for (let i = 0; i < manyNetworks; i++) expectRefused(route, await route.attempt(t.client, freshIp(), spellings[i % spellings.length]!, 'wrong-secret'), `spread failure ${i + 1}`);
    expect((await route.attempt(t.client, freshIp(), login, secret)).response.status, 'one failure below the total').toBe(200);
    expectRefused(route, await route.attempt(t.client, freshIp(), login, 'wrong-secret'), 'the last failure the total allows');
    // Now the right secret is refused from every network and under every spelling.
    for (const spelling of [login, ...spellings]) expectRefused(route, await route.attempt(t.client, freshIp(), spelling, secret), spelling);
  });

  it.each([
    { from: 'one network', limit: ACCOUNT_LIMIT, address: () => ((network) => (i: number) => network.at(i))(freshNetwork()) },
    { from: 'many networks', limit: ACCOUNT_TOTAL_LIMIT, address: () => () => freshIp() },
  ])('answers an unknown account the same way, after the same attempts under the same spellings from $from', async ({ limit, address }) => {
    // The probe: failures under one spelling, then one under another. A real account's counters
    // are shared by both spellings, an unknown one's are not; a 429 here would tell them apart.
    const probe = async ([first, second]: [string, string]) => {
      const from = address();
      const answers = [];
      for (let i = 0; i < limit; i++) answers.push(await route.attempt(t.client, from(i), first, 'wrong-secret'));
      answers.push(await route.attempt(t.client, from(limit), second, 'wrong-secret'));
      return answers.map((a) => [a.response.status, a.error, a.response.headers.get('retry-after')]);
    };
    // Nor does /metrics tell them apart: a refusal answered like a wrong password is not
    // reported as a rate-limit rejection there (the scraper may not be the operator).
    const before = await accountRejectionsReported();
    const known = await probe(route.probe!.known);
    expect(await accountRejectionsReported(), '/metrics after the real account').toBe(before);
    expect(known).toEqual(await probe(route.probe!.unknown));
    expect(await accountRejectionsReported(), '/metrics after the unknown one').toBe(before);
    expect(known.at(-1)).toEqual([route.refused.status, route.refused.body, null]);
  });
});

describe.each(ROUTES)('$name', (route) => {
  it(`throttles attempts per client IP across accounts`, async () => {
    const ip = freshIp();
    const results = [];
    for (let i = 0; i <= IP_LIMIT; i++) results.push(await route.attempt(t.client, ip, `nobody-${i}-${nextAddress}@example.com`, 'wrong-secret'));
    const firstLimited = results.findIndex((r) => r.response.status === 429);
    // Some routes check two secrets per request (the OAuth password grant: client, then user).
    expect(firstLimited, 'attempts before the per-IP limit').toBeGreaterThanOrEqual(IP_LIMIT / 2);
    for (const r of results.slice(0, firstLimited)) expect(r.response.status).toBe(route.refused.status);
    expectLimited(route, results[firstLimited]!, 'per IP');
    // Another address is not affected.
    expect((await route.attempt(t.client, freshIp(), `other-${nextAddress}@example.com`, 'wrong-secret')).response.status).toBe(route.refused.status);
  });
});

describe('an address past its limit', () => {
  // Every password login counts the same way (core); DummyJSON's login stands for them all.
  const route = ROUTES[0]!;

  it('cannot use up the attempts of an account it tries, even with many attempts at once', async () => {
    const ip = freshIp();
    for (let i = 0; i < IP_LIMIT; i++) {
      expect((await route.attempt(t.client, ip, `filler-${i}-${nextAddress}`, 'wrong-secret')).response.status).toBe(route.refused.status);
    }
    // Far more attempts on one account than its own limit, all in flight together (so that on
    // a shared store they are counted in the same statements), all stopped by the address's limit.
    const burst = await Promise.all(Array.from({ length: 20 * ACCOUNT_LIMIT }, () => route.attempt(t.client, ip, 'emmaj', 'wrong-secret')));
    burst.forEach((result, i) => expectLimited(route, result, `attempt ${i + 1}`));
    expect((await route.attempt(t.client, freshIp(), 'emmaj', 'emmajpass')).response.status, 'the owner, from elsewhere').toBe(200);
  });
});

describe('per-IP limits and IPv6', () => {
  // Every route counts addresses the same way (core); DummyJSON's login stands for them all.
  const route = ROUTES[0]!;

  it('count an IPv6 client by its /64, since it can pick any address in it; other /64s are apart', async () => {
    const prefix = `2001:db8:${++nextAddress}:7`;
    const results = [];
    for (let i = 0; i <= IP_LIMIT; i++) results.push(await route.attempt(t.client, `${prefix}:${i}::${i + 1}`, `v6-${i}-${nextAddress}`, 'wrong-secret'));
    expect(results.slice(0, IP_LIMIT).map((r) => r.response.status)).toEqual(Array(IP_LIMIT).fill(route.refused.status));
    expectLimited(route, results[IP_LIMIT]!, 'the same /64');
    const neighbour = await route.attempt(t.client, `2001:db8:${nextAddress}:8::1`, `v6-other-${nextAddress}`, 'wrong-secret');
    expect(neighbour.response.status, 'the next /64').toBe(route.refused.status);
  });

  it('count an IPv4 address written as IPv4-mapped IPv6 as that IPv4 address', async () => {
    const ip = freshIp();
    for (let i = 0; i < IP_LIMIT; i++) {
      const as = i % 2 ? `::ffff:${ip}` : ip;
      expect((await route.attempt(t.client, as, `v4-${i}-${nextAddress}`, 'wrong-secret')).response.status).toBe(route.refused.status);
    }
    expectLimited(route, await route.attempt(t.client, `::FFFF:${ip}`, `v4-last-${nextAddress}`, 'wrong-secret'), 'IPv4-mapped');
  });
});

describe('per-IP limits and what X-Forwarded-For may carry', () => {
  // Express passes an X-Forwarded-For entry on as written; DummyJSON's login stands for all routes.
  const route = ROUTES[0]!;

  it('count an address by its IP whatever port, brackets or zone come with it', async () => {
    const v4 = freshIp();
    const v6 = `2001:db8:${++nextAddress}:9::1`;
    for (const [forms, last] of [
      [[`${v4}:1024`, `${v4}:1025`, v4, ` ${v4}:65535`], `${v4}:4711`],
      [[`[${v6}]:1024`, `[${v6}]`, `${v6}%eth0`, `[${v6}%eth0]:2`], `[${v6}]:4711`],
    ] as const) {
      for (const [i, as] of forms.entries()) {
        expect((await route.attempt(t.client, as, `port-${i}-${nextAddress}`, 'wrong-secret')).response.status, as).toBe(route.refused.status);
      }
      expectLimited(route, await route.attempt(t.client, last, `port-last-${nextAddress}`, 'wrong-secret'), last);
    }
  });

  it('count every entry that is no IP address as one and the same client, so junk buys no fresh counters', async () => {
    const junk = ['unknown', 'not-an-ip', '198.51.100.256', '1.2.3.4.5', '[::1', '2001:db8::g', '_hidden', 'x:80'];
    const results = [];
    for (const [i, as] of junk.entries()) results.push(await route.attempt(t.client, as, `junk-${i}-${nextAddress}`, 'wrong-secret'));
    expect(results.slice(0, IP_LIMIT).map((r) => r.response.status)).toEqual(Array(IP_LIMIT).fill(route.refused.status));
    results.slice(IP_LIMIT).forEach((result, i) => expectLimited(route, result, junk[IP_LIMIT + i]!));
    // A real address is not among them.
    expect((await route.attempt(t.client, freshIp(), `junk-other-${nextAddress}`, 'wrong-secret')).response.status).toBe(route.refused.status);
  });
});

describe('TRUST_PROXY', () => {
  // A balancer that appends to X-Forwarded-For, as most do: whatever the client sent comes first.
  const route = ROUTES[0]!;
  const throughBalancer = (forged: string, seen: string) => `${forged}, ${seen}`;

  it('as a hop count, counts the address the balancer saw, not the entries the client put before it', async () => {
    const proxied = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_IP: `${IP_LIMIT}/${WINDOW_S}`, TRUST_PROXY: '1' });
    try {
      const seen = freshIp();
      const results = [];
      for (let i = 0; i <= IP_LIMIT; i++) {
        results.push(await route.attempt(proxied.client, throughBalancer(`203.0.113.${i + 1}`, seen), `hop-${i}-${nextAddress}`, 'wrong-secret'));
      }
      expect(results.slice(0, IP_LIMIT).map((r) => r.response.status)).toEqual(Array(IP_LIMIT).fill(route.refused.status));
      expectLimited(route, results[IP_LIMIT]!, 'forged entries in front');
      // Another address the balancer saw, behind the same forged entries, is another client.
      const other = await route.attempt(proxied.client, throughBalancer('203.0.113.1', freshIp()), `hop-other-${nextAddress}`, 'wrong-secret');
      expect(other.response.status, 'another client behind the balancer').toBe(route.refused.status);
    } finally {
      await proxied.close();
    }
  });

  // One server start per case: each start creates a database, and seven in one test outlasted its timeout on a loaded CI machine.
  const warnings = async (trustProxy: string) => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const started = await startTestServer({ TRUST_PROXY: trustProxy }, { logger: createLogger('warn', sink) });
    await started.close();
    return lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg.includes('TRUST_PROXY'));
  };

  // true, or addresses that take in every proxy (for IPv4 or IPv6).
  it.each(['true', '0.0.0.0/1, 128.0.0.0/1', '10.0.0.0/8, ::/1, 8000::/1'])('as %s (any address) is warned about at start', async (anywhere) => {
    expect(await warnings(anywhere)).toEqual([
      expect.objectContaining({
        level: 40,
        msg: `TRUST_PROXY=${anywhere} trusts a proxy at any address, so each client address is the left-most X-Forwarded-For entry, which the client writes unless every proxy replaces the header: set the number of proxies in front (e.g. 1) or their addresses (README, Deploying)`,
      }),
    ]);
  });

  it.each(['1', '10.0.0.0/8', 'loopback, uniquelocal', 'false'])('as %s is not warned about', async (safer) => {
    expect(await warnings(safer)).toEqual([]);
  });

  it('as true, counts the left-most entry, which the client writes: each forged entry is a client of its own', async () => {
    // What the warning is about, through an appending balancer (the suite's server trusts any proxy).
    const seen = freshIp();
    for (let i = 0; i <= IP_LIMIT; i++) {
      const result = await route.attempt(t.client, throughBalancer(freshIp(), seen), `left-${i}-${nextAddress}`, 'wrong-secret');
      expect(result.response.status, `forged entry ${i + 1}`).toBe(route.refused.status);
    }
  });
});
