// The Prism mock (`npm run mock`) serves every operation of the document: for every documented
// status and every named example it answers that example on `Prefer: code=<status>,
// example=<name>`, the status's first example on `Prefer: code=<status>`, and a success
// example on `Prefer: example=<name>` alone; each answer passes the generated zod schema, so a
// frontend built against the mock gets what the real server sends. Driven by
// generated/openapi.json: operations added later are walked without a change here.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouseClient } from '../src/client/index.js';
import { responseSchemas } from '../generated/response-schemas.gen.js';
import { startMock, type Mock } from './helpers/prism.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const doc: Json = JSON.parse(readFileSync(new URL('../generated/openapi.json', import.meta.url), 'utf8'));
const deref = (node: Json): Json => (node?.$ref ? deref((node.$ref as string).slice(2).split('/').reduce((n: Json, k) => n[k], doc)) : node);

interface Answer {
  status: string;
  type: string;
  examples: [name: string, value: unknown][];
}
interface Operation {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  answers: Answer[];
}

/** A valid value for a parameter: its example, else one its schema allows. */
function parameterValue(p: Json): string {
  const s = p.schema ?? {};
  const value = p.example ?? Object.values(p.examples ?? {}).map((e) => deref(e as Json).value)[0] ?? s.examples?.[0] ?? s.default ?? s.enum?.[0];
  if (value !== undefined) return String(value);
  if (s.type === 'integer' || s.type === 'number') return String(s.minimum ?? 1);
  if (s.type === 'string') return 'x';
  throw new Error(`no value for parameter ${p.name}: give it an example`);
}

/** A request Prism's validation accepts: required parameters, the first body example, credentials of the first security scheme. */
function operations(): Operation[] {
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Json)) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete']) {
      const op = (item as Json)[method];
      if (!op) continue;
      const headers: Record<string, string> = {};
      let url = path;
      for (const p of [...((item as Json).parameters ?? []), ...(op.parameters ?? [])].map(deref)) {
        if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(parameterValue(p)));
        else if (p.required && p.in === 'query') url += `${url.includes('?') ? '&' : '?'}${p.name}=${encodeURIComponent(parameterValue(p))}`;
        else if (p.required && p.in === 'header') headers[p.name] = parameterValue(p);
        else if (p.required) throw new Error(`${op.operationId}: required ${p.in} parameter ${p.name} is not handled here`);
      }
      const security: Json[] = op.security ?? doc.security ?? [];
      if (security.length > 0 && !security.some((r) => Object.keys(r).length === 0)) {
        const scheme = doc.components.securitySchemes[Object.keys(security[0]!)[0]!];
        if (scheme.type === 'http' && scheme.scheme === 'bearer') headers.Authorization = 'Bearer mock-token';
        else if (scheme.type === 'http' && scheme.scheme === 'basic') headers.Authorization = `Basic ${btoa('emilys:emilyspass')}`;
        else if (scheme.type === 'apiKey' && scheme.in === 'header') headers[scheme.name] = 'mock-key';
        else if (scheme.type === 'apiKey' && scheme.in === 'cookie') headers.Cookie = `${scheme.name}=mock-key`;
        else throw new Error(`${op.operationId}: security scheme ${JSON.stringify(scheme)} is not handled here`);
      }
      let body: string | undefined;
      if (op.requestBody) {
        const content = deref(op.requestBody).content as Json;
        const type = content['application/json'] ? 'application/json' : Object.keys(content)[0]!;
        const example = content[type].example ?? Object.values(content[type].examples ?? {}).map((e) => deref(e as Json).value)[0];
        if (example === undefined) throw new Error(`${op.operationId}: the request body has no example`);
        headers['Content-Type'] = type;
        body = type === 'application/json' ? JSON.stringify(example) : new URLSearchParams(example).toString();
      }
      const answers = Object.entries(op.responses as Json).flatMap(([status, raw]) =>
        Object.entries((deref(raw).content ?? {}) as Json).map(([type, media]) => ({
          status,
          type,
          examples: Object.entries((media.examples ?? {}) as Json).map(([name, e]) => [name, deref(e).value] as [string, unknown]),
        })),
      );
      out.push({ id: op.operationId, method: method.toUpperCase(), url, headers, body, answers });
    }
  }
  return out;
}

const OPERATIONS = operations();

let mock: Mock;

async function ask(op: Operation, accept: string, prefer: string) {
  const response = await fetch(`${mock.url}${op.url}`, {
    method: op.method,
    headers: { ...op.headers, Accept: accept, Prefer: prefer },
    body: op.body,
  });
  const text = await response.text();
  const body = response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  return { status: String(response.status), body, violations: response.headers.get('sl-violations'), requestId: response.headers.get('x-request-id') };
}

/** The answer is the status asked for, exactly the example, accepted by the generated zod schema of that status. */
function expectAnswer(op: Operation, got: Awaited<ReturnType<typeof ask>>, status: string, example: unknown, asked: string) {
  const where = `${op.id} ${asked}`;
  expect(got.violations, `${where}: Prism reports a contract violation (sl-violations)`).toBeNull();
  expect(got.status, where).toBe(status);
  expect(got.body, where).toEqual(example);
  expect(got.requestId, `${where}: X-Request-Id, from the header's example`).toBe(doc.components.headers.XRequestId.example);
  const schema = (responseSchemas as Record<string, Record<string, { safeParse(b: unknown): { success: boolean; error?: unknown } }>>)[op.id]?.[status];
  expect(schema, `${where}: no zod schema (run npm run generate)`).toBeDefined();
  const parsed = schema!.safeParse(got.body);
  expect(parsed.success, `${where}: ${String(parsed.error)}`).toBe(true);
}

describe('npm run mock: every operation × status × named example', () => {
  beforeAll(async () => {
    mock = await startMock();
  }, 60_000);
  afterAll(() => mock?.close());

  it('walks every operation of the document, and the generated schema map knows each one', () => {
    expect(OPERATIONS.map((o) => o.id).sort()).toEqual(Object.keys(responseSchemas).sort());
  });

  // A few operations at a time (vitest's maxConcurrency), one request after another within each.
  it.concurrent.each(OPERATIONS.map((op) => [op.id, op] as const))('%s', async (_id, op) => {
    const firstSuccess = op.answers.map((a) => a.status).filter((s) => s.startsWith('2')).sort()[0];
    for (const answer of op.answers) {
      expect(answer.examples.length, `${op.id} ${answer.status} ${answer.type} has named examples`).toBeGreaterThan(0);
      for (const [name, value] of answer.examples) {
        const both = `code=${answer.status}, example=${name}`;
        expectAnswer(op, await ask(op, answer.type, both), answer.status, value, both);
        if (answer.status === firstSuccess) {
          const alone = `example=${name}`;
          expectAnswer(op, await ask(op, answer.type, alone), answer.status, value, alone);
        }
      }
      const code = `code=${answer.status}`;
      expectAnswer(op, await ask(op, answer.type, code), answer.status, answer.examples[0]![1], code);
    }
  });

  it('serves the README flow: a DummyJSON login through the client, then a 401 picked with Prefer', async () => {
    const gatehouse = createGatehouseClient({ baseUrl: mock.url, validateResponses: true });
    const login = await gatehouse.dummyjsonLogin({ body: { username: 'emilys', password: 'emilyspass' } });
    expect(login.response.status).toBe(200);
    expect(login.data).toMatchObject({ id: 1, username: 'emilys' });
    const signedIn = createGatehouseClient({ baseUrl: mock.url, token: login.data!.accessToken, validateResponses: true });
    expect((await signedIn.dummyjsonMe()).data).toMatchObject({ username: 'emilys' });
    const expired = await signedIn.dummyjsonMe({ headers: { Prefer: 'code=401, example=tokenExpired' } });
    expect(expired.response.status).toBe(401);
    expect(expired.error).toEqual({ message: 'Token Expired!' });
    const wrong = await gatehouse.dummyjsonLogin({ body: { username: 'emilys', password: 'wrong' }, headers: { Prefer: 'code=400' } });
    expect(wrong.error).toEqual({ message: 'Invalid credentials' });
  });
});

describe('npm run mock -- --dynamic', () => {
  let dynamic: Mock;
  beforeAll(async () => {
    dynamic = await startMock(['--dynamic']);
  }, 60_000);
  afterAll(() => dynamic?.close());

  it('generates answers from the schemas (not the examples), each valid against the generated zod schema', async () => {
    const gatehouse = createGatehouseClient({ baseUrl: dynamic.url, token: 'mock-token', validateResponses: true });
    const login = await gatehouse.dummyjsonLogin({ body: { username: 'emilys', password: 'emilyspass' } });
    expect(login.response.status).toBe(200);
    const example = OPERATIONS.find((o) => o.id === 'dummyjsonLogin')!.answers.find((a) => a.status === '200')!.examples[0]![1] as Json;
    expect(login.data!.accessToken).not.toBe(example.accessToken);

    const token = await gatehouse.mahoToken({ body: { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret' } });
    expect(token.response.status).toBe(200);
    expect((await gatehouse.mahoGetCustomer({ path: { id: 7 } })).response.status).toBe(200);
    expect((await gatehouse.cocartValidateToken()).response.status).toBe(200);
    const expired = await gatehouse.dummyjsonMe({ headers: { Prefer: 'code=401' } });
    expect(expired.response.status).toBe(401);
    expect(typeof expired.error?.message).toBe('string');
  });
});
