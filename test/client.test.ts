// The `gatehouse/client` entry (src/client): the SDK bound to one server, a bearer token
// option, typed errors per dialect, and optional checking of every answer against the contract.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGatehouseClient, GatehouseContractError, responseSchemas } from '../src/client/index.js';
import { zCocartError, zDummyjsonError, zMahoError } from '../generated/client/zod.gen.js';
import { EMILYS } from './helpers/dummyjson.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';
import { UA } from './helpers/cocart.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t?.close());

describe('createGatehouseClient against Gatehouse', () => {
  it('has a method for every operation of the document', () => {
    const gatehouse = createGatehouseClient({ baseUrl: t.url });
    for (const operation of Object.keys(responseSchemas)) expect(typeof gatehouse[operation as keyof typeof responseSchemas], operation).toBe('function');
  });

  it('logs in, then sends the token (a string or a function) as a bearer token, validating every answer', async () => {
    const anonymous = createGatehouseClient({ baseUrl: t.url, validateResponses: true });
    const login = await anonymous.dummyjsonLogin({ body: { username: 'emilys', password: 'emilyspass' } });
    expect(login.response.status).toBe(200);
    const accessToken = login.data!.accessToken;

    for (const token of [accessToken, () => accessToken, async () => accessToken]) {
      const gatehouse = createGatehouseClient({ baseUrl: t.url, token, validateResponses: true });
      const me = await gatehouse.dummyjsonMe();
      expect(me.response.status).toBe(200);
      expect(me.request.headers.get('authorization')).toBe(`Bearer ${accessToken}`);
      expect(me.data).toMatchObject(EMILYS);
    }
  });

  it('answers each dialect\'s error body, valid against its schema, without throwing', async () => {
    const gatehouse = createGatehouseClient({ baseUrl: t.url, token: 'not-a-token', validateResponses: true });
    const dummyjson = await gatehouse.dummyjsonLogin({ body: { username: 'emilys', password: 'wrong' } });
    expect(dummyjson.response.status).toBe(400);
    expect(zDummyjsonError.parse(dummyjson.error)).toEqual({ message: 'Invalid credentials' });

    const cocart = await gatehouse.cocartValidateToken({ headers: { 'User-Agent': UA } });
    expect(cocart.response.status).toBe(401);
    expect(zCocartError.parse(cocart.error)).toMatchObject({ data: { status: 401 } });

    const maho = await gatehouse.mahoGetMe();
    expect(maho.response.status).toBe(401);
    expect(zMahoError.parse(maho.error)).toMatchObject({ code: 401 });
  });

  it('sends no token when none is given, and never to a Basic-auth operation', async () => {
    const anonymous = createGatehouseClient({ baseUrl: t.url });
    const me = await anonymous.dummyjsonMe();
    expect(me.response.status).toBe(401);
    expect(me.request.headers.get('authorization')).toBeNull();

    const withToken = createGatehouseClient({ baseUrl: t.url, token: 'a-token' });
    const login = await withToken.cocartLogin({ body: { username: 'emilys', password: 'emilyspass' }, headers: { 'User-Agent': UA } });
    expect(login.response.status).toBe(200);
    expect(login.request.headers.get('authorization')).toBeNull();
  });
});

describe('validateResponses against a server that breaks the contract', () => {
  let liar: Server;
  let liarUrl: string;
  beforeAll(async () => {
    liar = createServer((req, res) => {
      res.setHeader('Content-Type', 'application/json');
      if (req.url === '/auth/login') res.end(JSON.stringify({ id: 'one', username: 'emilys' })); // 200, wrong body
      else if (req.url === '/healthz') res.writeHead(418).end(JSON.stringify({ status: 'teapot' })); // undocumented status
      else res.writeHead(401).end(JSON.stringify({ error: 'unauthorized' })); // a DummyJSON 401 without message
    });
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    liarUrl = `http://127.0.0.1:${(liar.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => liar.close(() => resolve())));

  it('throws GatehouseContractError for a body its schema refuses', async () => {
    const gatehouse = createGatehouseClient({ baseUrl: liarUrl, validateResponses: true });
    const failure = await gatehouse.dummyjsonLogin({ body: { username: 'emilys', password: 'x' } }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(GatehouseContractError);
    expect(failure).toMatchObject({ operation: 'dummyjsonLogin', status: 200 });
    expect((failure as Error).message).toContain('accessToken');
  });

  it('throws for an error body its schema refuses, and for an undocumented status', async () => {
    const gatehouse = createGatehouseClient({ baseUrl: liarUrl, validateResponses: true });
    await expect(gatehouse.dummyjsonMe()).rejects.toMatchObject({ name: 'GatehouseContractError', operation: 'dummyjsonMe', status: 401 });
    await expect(gatehouse.getHealth()).rejects.toMatchObject({ operation: 'getHealth', status: 418, issues: 'no such status is documented' });
  });

  it('passes the same answers through untouched when validation is off', async () => {
    const gatehouse = createGatehouseClient({ baseUrl: liarUrl });
    const health = await gatehouse.getHealth();
    expect(health.response.status).toBe(418);
    expect(health.error).toEqual({ status: 'teapot' });
  });
});
