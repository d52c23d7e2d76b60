// The Prism mock serves the same document: its answers are valid against the generated zod
// schemas, so frontend work against the mock matches the real server.
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/ports.js';
import { createClient, createConfig } from '../generated/client/client/index.js';
import { dummyjsonLogin, dummyjsonMe } from '../generated/client/sdk.gen.js';
import { zDummyjsonError, zDummyjsonLoginResponse } from '../generated/client/zod.gen.js';

let prism: ChildProcess;
let baseUrl: string;

beforeAll(async () => {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  prism = spawn('node_modules/.bin/prism', ['mock', 'generated/openapi.json', '--host', '127.0.0.1', '--port', String(port)], {
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
}, 60_000);

afterAll(() => {
  prism?.kill();
});

describe('Prism mock of the contract', () => {
  it('answers the login example, valid against the generated schema', async () => {
    const client = createClient(createConfig({ baseUrl }));
    const { data, response } = await dummyjsonLogin({ client, body: { username: 'emilys', password: 'emilyspass' } });
    expect(response.status).toBe(200);
    expect(zDummyjsonLoginResponse.parse(data)).toMatchObject({ id: 1, username: 'emilys' });
  });

  it('answers the 400 example on Prefer: code=400, valid against the error schema', async () => {
    const client = createClient(createConfig({ baseUrl }));
    const { error, response } = await dummyjsonLogin({
      client,
      body: { username: 'emilys', password: 'wrong' },
      headers: { Prefer: 'code=400' },
    });
    expect(response.status).toBe(400);
    expect(zDummyjsonError.parse(error)).toEqual({ message: 'Invalid credentials' });
  });

  it('answers a named example on Prefer: example=...', async () => {
    const client = createClient(createConfig({ baseUrl }));
    const { error, response } = await dummyjsonMe({
      client,
      headers: { Authorization: 'Bearer x', Prefer: 'code=401, example=tokenExpired' },
    });
    expect(response.status).toBe(401);
    expect(zDummyjsonError.parse(error)).toEqual({ message: 'Token Expired!' });
  });
});
