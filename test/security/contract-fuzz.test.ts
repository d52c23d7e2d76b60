// Generative contract fuzzing: for every operation in the document, fast-check builds valid
// and invalid requests from the operation's own schemas (bodies in every declared content
// type and in undeclared ones, path and query parameters, cookies, credentials good and bad,
// malformed JSON, random JSON, oversized fields) and sends them through `prism proxy`
// (without --errors, so Prism forwards everything and reports contract violations in the
// `sl-violations` header) to a real Gatehouse. A run fails on any 5xx, any violation Prism
// finds in a response, any status the operation does not document, or an error body not in
// the owning dialect's format.
//
// Bounded (FUZZ_RUNS requests per operation, default 30) and seeded (FUZZ_SEED, default
// fixed): a failure prints the seed, the shrunk request and the answer, and reproduces with
//   FUZZ_SEED=<seed> npx vitest run --config test/vitest.config.ts test/security/contract-fuzz.test.ts
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zCocartError, zDummyjsonError, zMahoError, zOAuthError } from '../../generated/client/zod.gen.js';
import { cocartLoginAs, UA } from '../helpers/cocart.js';
import { loginAs } from '../helpers/dummyjson.js';
import { startTestServer, type TestServer } from '../helpers/gatehouse.js';
import { customerToken, demoClientToken } from '../helpers/maho.js';
import { basic, DEMO_CLIENT, oauthTokenFor } from '../helpers/oauth.js';
import { freePort } from '../helpers/ports.js';

type Schema = Record<string, unknown>;
interface Operation {
  method: string;
  path: string;
  statuses: Set<number>;
  parameters: Array<{ name: string; in: 'path' | 'query' | 'header' | 'cookie'; schema: Schema; required?: boolean }>;
  bodies: Array<{ type: string; schema: Schema; examples: unknown[] }>;
  security: string[];
}

const doc = JSON.parse(readFileSync(new URL('../../generated/openapi.json', import.meta.url), 'utf8')) as Record<string, unknown>;
const SEED = Number(process.env.FUZZ_SEED ?? 20_261_122);
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);

function deref<T = Schema>(node: unknown): T {
  let n = node as { $ref?: string } | undefined;
  while (n && typeof n === 'object' && typeof n.$ref === 'string') {
    n = n.$ref
      .slice(2)
      .split('/')
      .reduce<unknown>((o, k) => (o as Record<string, unknown>)[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc) as { $ref?: string };
  }
  return n as T;
}

function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [path, rawItem] of Object.entries(doc.paths as Record<string, unknown>)) {
    const item = deref<Record<string, unknown>>(rawItem);
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = item[method] as Record<string, unknown> | undefined;
      if (!op) continue;
      const params = [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])].map((p) => deref<Operation['parameters'][number]>(p));
      const content = (deref<{ content?: Record<string, { schema: Schema; examples?: Record<string, unknown> }> }>(op.requestBody)?.content ?? {}) as Record<string, { schema: Schema; examples?: Record<string, unknown> }>;
      out.push({
        method: method.toUpperCase(),
        path,
        statuses: new Set(Object.keys(op.responses as object).map(Number)),
        parameters: params.map((p) => ({ ...p, schema: deref(p.schema) })),
        bodies: Object.entries(content).map(([type, c]) => ({
          type,
          schema: deref(c.schema),
          examples: Object.values(c.examples ?? {}).map((e) => deref<{ value: unknown }>(e).value),
        })),
        security: ((op.security as Array<Record<string, unknown>>) ?? []).flatMap((s) => Object.keys(s)),
      });
    }
  }
  return out;
}

// --- values from schemas ----------------------------------------------------------------

const nasty = fc.constantFrom('', ' ', '\u0000', "' OR 1=1 --", '../../etc/passwd', '<script>', '%00', '💥', 'a'.repeat(300), '{}', 'null', '-1', '1e309');

function fromSchema(raw: Schema, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(raw);
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
  for (const key of ['oneOf', 'anyOf'] as const) if (Array.isArray(s[key])) return fc.oneof(...(s[key] as Schema[]).map((x) => fromSchema(x, depth)));
  const type = Array.isArray(s.type) ? (s.type as string[]).find((x) => x !== 'null') : (s.type as string | undefined);
  const examples = Array.isArray(s.examples) ? (s.examples as unknown[]) : [];
  const withExamples = (a: fc.Arbitrary<unknown>) => (examples.length ? fc.oneof(a, fc.constantFrom(...examples)) : a);
  switch (type) {
    case 'string': {
      const minLength = (s.minLength as number | undefined) ?? 0;
      const maxLength = Math.min((s.maxLength as number | undefined) ?? 40, 40);
      if (s.format === 'email') return withExamples(fc.emailAddress());
      if (s.format === 'date') return fc.date({ min: new Date('1900-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
      return withExamples(fc.string({ minLength, maxLength: Math.max(minLength, maxLength) }));
    }
    case 'integer':
      return withExamples(fc.integer({ min: (s.minimum as number | undefined) ?? -1000, max: (s.maximum as number | undefined) ?? 100_000 }));
    case 'number':
      return withExamples(fc.double({ min: (s.minimum as number | undefined) ?? -1e6, max: (s.maximum as number | undefined) ?? 1e6, noNaN: true }));
    case 'boolean':
      return fc.boolean();
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(fromSchema((s.items as Schema) ?? {}, depth + 1), { maxLength: 3 });
    case 'object': {
      if (depth > 3) return fc.constant({});
      const props = Object.fromEntries(Object.entries((s.properties as Record<string, Schema>) ?? {}).map(([k, v]) => [k, fromSchema(v, depth + 1)]));
      return fc.record(props, { requiredKeys: ((s.required as string[]) ?? []).filter((k) => k in props) });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A value of the schema, or something the schema refuses. */
const valueOrNot = (s: Schema) => fc.oneof({ weight: 3, arbitrary: fromSchema(s) }, { weight: 1, arbitrary: fc.oneof(nasty, fc.jsonValue({ maxDepth: 2 })) });

// --- requests ---------------------------------------------------------------------------

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
  direct?: boolean;
}

let tokens: Record<string, string> = {};

function credentialsFor(op: Operation): fc.Arbitrary<Record<string, string>> {
  const genuine = Object.values(tokens);
  return fc.oneof(
    fc.constant({}),
    fc.constantFrom(...genuine).map((tk) => ({ authorization: `Bearer ${tk}` })),
    fc.constantFrom(...genuine).map((tk) => ({ cookie: `accessToken=${tk}` })),
    fc.constant(basic(DEMO_CLIENT.id, DEMO_CLIENT.secret) as Record<string, string>),
    fc.constant({ authorization: `Basic ${Buffer.from('emilys:emilyspass').toString('base64')}` }),
    fc.string({ maxLength: 60 }).map((v) => ({ authorization: `Bearer ${v.replace(/[\r\n\0]/g, '')}` })),
    fc.string({ maxLength: 60 }).map((v) => ({ authorization: v.replace(/[\r\n\0]/g, '') })),
    ...(op.security.length ? [] : [fc.constant({})]),
  );
}

/**
 * `direct`: bytes Prism itself cannot take (malformed JSON, which it answers itself, and
 * malformed percent-encoding, which crashes it): sent to the server directly, with every
 * check but Prism's.
 */
type RawBody = { contentType?: string; body?: string; direct?: boolean };

function bodyFor(op: Operation): fc.Arbitrary<RawBody> {
  const asForm = (v: unknown): RawBody =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? { body: new URLSearchParams(Object.entries(v).map(([k, x]) => [k, typeof x === 'string' ? x : JSON.stringify(x)])).toString() }
      : { body: String(v), direct: true };
  const serialize = (type: string, v: unknown): RawBody => ({ contentType: type, ...(type.includes('json') ? { body: JSON.stringify(v) } : asForm(v)) });
  const declared = op.bodies.flatMap((b) => [
    fromSchema(b.schema).map((v) => serialize(b.type, v)),
    ...(b.examples.length ? [fc.constantFrom(...b.examples).map((v) => serialize(b.type, v))] : []),
    fc.jsonValue({ maxDepth: 3 }).map((v) => serialize(b.type, v)),
  ]);
  return fc.oneof(
    ...declared,
    fc.constant<RawBody>({}),
    fc.string({ maxLength: 80 }).map((v) => ({ contentType: 'application/json', body: v, direct: true })),
    fc.string({ maxLength: 80 }).map((v) => ({ contentType: 'application/x-www-form-urlencoded', body: v, direct: true })),
    fc.string({ maxLength: 80 }).map((v) => ({ contentType: 'text/plain', body: v })),
    fc.constant({ contentType: 'application/json', body: JSON.stringify({ username: 'x'.repeat(40_000), password: 'y' }) }),
    fc.constant({ contentType: 'application/json', body: `${'['.repeat(5000)}${']'.repeat(5000)}`, direct: true }),
    fc.jsonValue({ maxDepth: 3 }).map((v) => ({ ...asForm(v), contentType: 'application/x-www-form-urlencoded' })),
  );
}

function requestFor(op: Operation): fc.Arbitrary<FuzzRequest> {
  const byIn = (where: string) => op.parameters.filter((p) => p.in === where);
  const pathParams = fc.record(
    Object.fromEntries(byIn('path').map((p) => [p.name, fc.oneof(fromSchema(p.schema), fc.stringMatching(/^[A-Za-z0-9._~-]{1,12}$/).filter((v) => v !== '.' && v !== '..') /* URL dot segments: another path */)])),
  );
  const query = fc.record(Object.fromEntries(byIn('query').map((p) => [p.name, valueOrNot(p.schema)])), { requiredKeys: [] });
  const cookies = fc.record(Object.fromEntries(byIn('cookie').map((p) => [p.name, valueOrNot(p.schema)])), { requiredKeys: [] });
  return fc
    .record({
      pathParams,
      query,
      cookies,
      credentials: credentialsFor(op),
      body: op.method === 'GET' ? fc.constant<RawBody>({}) : bodyFor(op),
      userAgent: fc.constantFrom(UA, 'curl/8', undefined),
    })
    .map(({ pathParams, query, cookies, credentials, body, userAgent }) => {
      let path = op.path;
      for (const [k, v] of Object.entries(pathParams)) path = path.replace(`{${k}}`, encodeURIComponent(String(v)));
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])).toString();
      const headers: Record<string, string> = { ...credentials };
      const cookieHeader = Object.entries(cookies).map(([k, v]) => `${k}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`);
      if (cookieHeader.length) headers.cookie = [headers.cookie, ...cookieHeader].filter(Boolean).join('; ');
      if (userAgent) headers['user-agent'] = userAgent;
      if (body.contentType) headers['content-type'] = body.contentType;
      return { method: op.method, path: qs ? `${path}?${qs}` : path, headers, body: body.body, direct: body.direct };
    });
}

// --- checks -----------------------------------------------------------------------------

function errorSchemaOf(path: string): z.ZodType {
  if (path.startsWith('/auth/')) return zDummyjsonError;
  if (path.startsWith('/wp-json/cocart/')) return zCocartError;
  if (path.startsWith('/api/rest/v2/')) return zMahoError;
  if (path.startsWith('/oauth/') || path === '/.well-known/oauth-authorization-server') return zOAuthError;
  return zDummyjsonError; // System errors are {"message": ...} too
}

let server: TestServer;
let prism: ChildProcess;
let prismUrl: string;

async function check(op: Operation, req: FuzzRequest): Promise<void> {
  const response = await fetch(`${req.direct ? server.url : prismUrl}${req.path}`, { method: req.method, headers: req.headers, body: req.body });
  const text = await response.text();
  const what = `${req.method} ${req.path} → ${response.status} ${text.slice(0, 300)}`;
  expect(response.status, what).toBeLessThan(500);
  expect([...op.statuses], `undocumented status: ${what}`).toContain(response.status);
  const violations = JSON.parse(response.headers.get('sl-violations') ?? '[]') as Array<{ location?: string[]; message: string }>;
  const onResponse = violations.filter((v) => v.location?.[0] === 'response');
  expect(onResponse, `Prism found the response off-contract: ${what}`).toEqual([]);
  if (response.status >= 400) {
    const parsed = errorSchemaOf(op.path).safeParse(JSON.parse(text));
    expect(parsed.success, `error body not in the dialect's format: ${what}`).toBe(true);
  }
}

beforeAll(async () => {
  server = await startTestServer();
  const dj = await loginAs(server.client, 'emilys');
  const cc = await cocartLoginAs(server.client, 'michaelw');
  tokens = {
    dummyjson: dj.accessToken,
    dummyjsonRefresh: dj.refreshToken,
    cocart: cc.extras.jwt_token,
    cocartRefresh: cc.extras.jwt_refresh,
    mahoCustomer: await customerToken(server.client, 'emmaj'),
    mahoAdmin: await demoClientToken(server.client),
    oauth: (await oauthTokenFor(server.client, { grant_type: 'client_credentials' })).access_token,
  };
  const port = await freePort();
  prismUrl = `http://127.0.0.1:${port}`;
  prism = spawn('node_modules/.bin/prism', ['proxy', 'generated/openapi.json', server.url, '--host', '127.0.0.1', '--port', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Prism did not start:\n${output}`)), 45_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Prism is listening')) {
        clearTimeout(timer);
        resolve();
      }
    };
    prism.stdout!.on('data', onData);
    prism.stderr!.on('data', onData);
    prism.on('exit', (code) => reject(new Error(`Prism exited with ${code}:\n${output}`)));
  });
  // Prism dying mid-run would fail every later request with ECONNREFUSED: say why instead.
  prism.on('exit', (code) => console.error(`prism proxy exited with ${code}:\n${output.slice(-3000)}`));
}, 60_000);

afterAll(async () => {
  prism?.removeAllListeners('exit'); // stopped on purpose: nothing to report
  prism?.kill();
  await server?.close();
});

describe(`contract fuzzing through prism proxy (seed ${SEED}, ${RUNS} requests per operation)`, () => {
  it.each(operations().map((op) => [`${op.method} ${op.path}`, op] as const))('%s', async (_name, op) => {
    await fc.assert(
      fc.asyncProperty(requestFor(op), (req) => check(op, req)),
      { seed: SEED, numRuns: RUNS, interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false },
    );
  }, 60_000);
});
