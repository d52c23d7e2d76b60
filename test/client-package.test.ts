// What another team gets: `npm pack` of this repository, installed into an empty project,
// used from plain JavaScript against a running Gatehouse, and type-checked from TypeScript.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';

const run = promisify(execFile);
const REPO = new URL('..', import.meta.url).pathname;
const TSC = join(REPO, 'node_modules/.bin/tsc');

let t: TestServer;
let consumer: string;
let installSeconds: number;

beforeAll(async () => {
  consumer = await mkdtemp(join(tmpdir(), 'gatehouse-consumer-'));
  const [server] = await Promise.all([
    startTestServer(),
    (async () => {
      await run('npm', ['pack', '--silent', '--pack-destination', consumer], { cwd: REPO });
      const tarball = (await readdir(consumer)).find((f) => f.endsWith('.tgz'))!;
      await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
      const started = performance.now();
      // With no lockfile npm asks the registry about every dependency: a network hiccup is
      // not the package's fault, so an install that fails is tried again, twice at most.
      for (let attempt = 1; ; attempt++) {
        try {
          await run('npm', ['install', `./${tarball}`, '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: consumer });
          break;
        } catch (err) {
          if (attempt === 3) throw err;
          console.warn(`npm install of the tarball failed (attempt ${attempt}), trying again: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      installSeconds = (performance.now() - started) / 1000;
    })(),
  ]);
  t = server;
}, 300_000);

afterAll(async () => {
  await t?.close();
  if (consumer) await rm(consumer, { recursive: true, force: true });
});

describe('the packed gatehouse/client entry', () => {
  it('installs from the tarball with JavaScript and type declarations only', async () => {
    console.info(`npm install of the tarball took ${installSeconds.toFixed(1)} s`);
    const installed = join(consumer, 'node_modules/gatehouse');
    const files = await readdir(installed, { recursive: true });
    expect(files).toContain('dist/src/client/index.js');
    expect(files).toContain('dist/src/client/index.d.ts');
    expect(files).toContain('generated/openapi.json');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]); // no TypeScript sources
    // No sources but the admin command's shim, which npm always packs with a package's bin
    // (it explains itself and exits 2 without the sources; tested below).
    expect(files.filter((f) => /^(src|test)\//.test(f) && !['src/cli', 'src/cli/bin.js'].includes(f))).toEqual([]);
    const admin = await run('node', ['node_modules/.bin/gatehouse', 'users', 'list'], { cwd: consumer }).catch((e: { code: number; stderr: string }) => e);
    expect(admin).toMatchObject({ code: 2, stderr: expect.stringContaining('runs from a Gatehouse checkout or deployment') });
  });

  it('calls a running Gatehouse from plain JavaScript', async () => {
    await writeFile(
      join(consumer, 'login.mjs'),
      `import { createGatehouseClient } from 'gatehouse/client';
const baseUrl = process.argv[2];
const anonymous = createGatehouseClient({ baseUrl, validateResponses: true });
const login = await anonymous.dummyjsonLogin({ body: { username: 'emilys', password: 'emilyspass' } });
const gatehouse = createGatehouseClient({ baseUrl, token: () => login.data.accessToken, validateResponses: true });
const me = await gatehouse.dummyjsonMe();
const wrong = await anonymous.dummyjsonLogin({ body: { username: 'emilys', password: 'wrong' } });
const maho = await gatehouse.mahoGetMe();
console.log(JSON.stringify({ login: login.response.status, me: me.data.username, wrong: [wrong.response.status, wrong.error], maho: [maho.response.status, maho.error.code] }));
`,
    );
    const { stdout } = await run('node', ['login.mjs', t.url], { cwd: consumer });
    expect(JSON.parse(stdout)).toEqual({
      login: 200,
      me: 'emilys',
      wrong: [400, { message: 'Invalid credentials' }],
      maho: [401, 401], // a DummyJSON token is no Maho token
    });
  });

  it('type-checks a TypeScript consumer (tsc --noEmit), with the types it promises', async () => {
    await writeFile(
      join(consumer, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'es2023', lib: ['es2023', 'dom'], module: 'nodenext', moduleResolution: 'nodenext', strict: true, noEmit: true, types: [] },
        files: ['consumer.ts'],
      }),
    );
    await writeFile(
      join(consumer, 'consumer.ts'),
      `import { createGatehouseClient, schemas, GatehouseContractError, type DummyjsonError, type MahoError, type CocartError } from 'gatehouse/client';

const gatehouse = createGatehouseClient({ baseUrl: 'http://127.0.0.1:3000', token: () => 'token', validateResponses: true });
const { data, error } = await gatehouse.dummyjsonLogin({ body: { username: 'emilys', password: 'emilyspass' } });
if (error) {
  const message: string = (error satisfies DummyjsonError).message;
  console.log(message);
} else {
  const accessToken: string = data.accessToken;
  console.log(accessToken);
}
const me = await gatehouse.mahoGetMe();
if (me.error) {
  const code: number = (me.error satisfies MahoError).code;
  console.log(code);
} else {
  const email: string = me.data.email;
  console.log(email);
}
const cocart = await gatehouse.cocartValidateToken();
if (cocart.error) console.log((cocart.error satisfies CocartError).data.status);
console.log(schemas.zDummyjsonUser.parse({}), GatehouseContractError.name);

// @ts-expect-error the login body is required
await gatehouse.dummyjsonLogin();
// @ts-expect-error a login needs a password
await gatehouse.dummyjsonLogin({ body: { username: 'emilys' } });
// @ts-expect-error a DummyJSON error has no code
console.log(error?.code);
// @ts-expect-error no such operation
gatehouse.noSuchOperation();
`,
    );
    const result = await run(TSC, ['-p', 'tsconfig.json'], { cwd: consumer }).then(
      () => ({ ok: true, out: '' }),
      (e: { stdout: string }) => ({ ok: false, out: e.stdout }),
    );
    expect(result.out).toBe('');
    expect(result.ok).toBe(true);
  }, 120_000);
});
