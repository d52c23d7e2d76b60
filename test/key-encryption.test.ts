// KEY_ENCRYPTION_KEY: the private signing keys are sealed in the database (a copy of it cannot
// sign), keys stored in clear before are sealed on the next start, tokens keep verifying across
// restarts, and a configuration that cannot open the keys refuses to start (server and CLI).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { CompactEncrypt, decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { dummyjsonLogin, dummyjsonMe, getReadiness } from '../generated/client/sdk.gen.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { KeyEncryptionError } from '../src/core/key-encryption.js';
import { createLogger } from '../src/http/logging.js';
import { cliDatabase, gatehouse, json, withServer } from './cli/cli.js';
import { bearer, loginAs } from './helpers/dummyjson.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';

const newKey = () => randomBytes(32).toString('base64url');

let cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/** A database that outlives its servers: a DATA_DIR on PGlite, a database of its own on PostgreSQL. */
async function database(): Promise<Record<string, string>> {
  const db = await cliDatabase();
  cleanup.push(db.drop);
  return { DATABASE_URL: db.env.DATABASE_URL!, ...(db.env.DATA_DIR ? { DATA_DIR: db.env.DATA_DIR } : {}), SEED_DEMO: 'true' };
}

async function storedKeys(t: TestServer): Promise<Array<{ kid: string; privateJwk: Record<string, unknown>; text: string }>> {
  const rows = await t.gatehouse.services.db.query<{ kid: string; private_jwk: Record<string, unknown>; text: string }>(
    'SELECT kid, private_jwk, private_jwk::text AS text FROM signing_keys ORDER BY activates_at',
  );
  return rows.map((r) => ({ kid: r.kid, privateJwk: r.private_jwk, text: r.text }));
}

function expectSealed(row: { kid: string; privateJwk: Record<string, unknown>; text: string }): void {
  expect(Object.keys(row.privateJwk)).toEqual(['jwe']);
  const jwe = row.privateJwk.jwe as string;
  expect(jwe.split('.')).toHaveLength(5);
  expect(decodeProtectedHeader(jwe)).toEqual({ alg: 'dir', enc: 'A256GCM', kid: row.kid });
  expect(row.text).not.toMatch(/"d"\s*:/); // the private scalar is nowhere in clear
}

const meStatus = async (t: TestServer, token: string) => (await dummyjsonMe({ client: t.client, headers: bearer(token) })).response.status;

// Each test starts several servers on an on-disk PGlite, which takes a while when other test
// files run beside it.
describe('KEY_ENCRYPTION_KEY', { timeout: 120_000 }, () => {
  it('seals every private key in the database; tokens verify after a restart with the same key', async () => {
    const env = { ...(await database()), KEY_ENCRYPTION_KEY: newKey() };
    const token = await withServer(env, async (t) => {
      const rows = await storedKeys(t);
      expect(rows).toHaveLength(1);
      rows.forEach(expectSealed);
      // A rotation's new key is sealed too.
      await t.gatehouse.services.keys.rotate({ activateInS: 0, force: true });
      const after = await storedKeys(t);
      expect(after).toHaveLength(2);
      after.forEach(expectSealed);
      const { accessToken } = await loginAs(t.client);
      expect(decodeProtectedHeader(accessToken).kid).toBe(after[1]!.kid);
      return accessToken;
    });
    await withServer(env, async (t) => {
      expect(await meStatus(t, token)).toBe(200);
      const { accessToken } = await loginAs(t.client);
      expect(await meStatus(t, accessToken)).toBe(200);
    });
  });

  it('seals keys stored in clear on the next start with it, and their tokens keep verifying', async () => {
    const plain = await database();
    const token = await withServer(plain, async (t) => {
      const [row] = await storedKeys(t);
      expect(row!.privateJwk).toMatchObject({ kty: 'EC', crv: 'P-256', d: expect.any(String) });
      return (await loginAs(t.client)).accessToken;
    });
    await withServer({ ...plain, KEY_ENCRYPTION_KEY: newKey() }, async (t) => {
      (await storedKeys(t)).forEach(expectSealed);
      expect(await meStatus(t, token)).toBe(200);
      // The sealed key opened: it signs, and what it signs verifies.
      const fresh = (await loginAs(t.client)).accessToken;
      expect(decodeProtectedHeader(fresh).kid).toBe(decodeProtectedHeader(token).kid);
      expect(await meStatus(t, fresh)).toBe(200);
    });
  });

  it('refuses to start when the keys are sealed and the key is missing, another one, or the sealed key was moved to another row', async () => {
    const key = newKey();
    const env = { ...(await database()), KEY_ENCRYPTION_KEY: key };
    await withServer(env, async (t) => {
      await t.gatehouse.services.keys.rotate({ activateInS: 0, force: true });
    });
    const { KEY_ENCRYPTION_KEY: _key, ...withoutKey } = env;
    await expect(startTestServer(withoutKey)).rejects.toMatchObject({
      name: 'KeyEncryptionError',
      code: 'key_encryption_key_missing',
      message: expect.stringMatching(/^signing key \S+ is encrypted: set KEY_ENCRYPTION_KEY/),
    });
    await expect(startTestServer({ ...env, KEY_ENCRYPTION_KEY: newKey() })).rejects.toMatchObject({ code: 'key_encryption_key_mismatch' });

    // The command line says the same, as a configuration error (exit 2), without a secret.
    const other = newKey();
    const cli = await gatehouse(['keys', 'list', '--json'], { ...env, KEY_ENCRYPTION_KEY: other });
    expect(cli.code).toBe(2);
    expect(cli.stdout).toBe('');
    expect(JSON.parse(cli.stderr)).toEqual({ error: 'key_encryption_key_mismatch', message: expect.stringMatching(/^KEY_ENCRYPTION_KEY does not decrypt signing key /) });
    expect(cli.stderr).not.toContain(other);
    const missing = await gatehouse(['keys', 'list'], withoutKey);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toMatch(/^gatehouse: signing key \S+ is encrypted: set KEY_ENCRYPTION_KEY to the key it was encrypted with\n$/);
    const listed = json<{ keys: unknown[] }>(await gatehouse(['keys', 'list', '--json'], env));
    expect(listed.keys).toHaveLength(2);
    // So does the server: exit 2 with the message, nothing listening.
    const server = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      env: { ...process.env, ...env, KEY_ENCRYPTION_KEY: newKey(), PORT: '0', NODE_ENV: 'production', LOG_LEVEL: 'silent' },
    });
    let stderr = '';
    server.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    server.stdout.resume();
    const [status] = (await once(server, 'exit')) as [number | null];
    expect(status).toBe(2);
    expect(stderr).toMatch(/^Invalid configuration:\n {2}KEY_ENCRYPTION_KEY does not decrypt signing key \S+: it was encrypted with another key, or its row was altered\n$/);

    // A sealed key copied onto another key's row does not open there: the kid is authenticated.
    await withServer(env, async (t) => {
      const [a, b] = await storedKeys(t);
      await t.gatehouse.services.db.query('UPDATE signing_keys SET private_jwk = $2 WHERE kid = $1', [b!.kid, JSON.stringify(a!.privateJwk)]);
    });
    await expect(startTestServer(env)).rejects.toBeInstanceOf(KeyEncryptionError);
    await expect(startTestServer(env)).rejects.toMatchObject({ code: 'key_encryption_key_mismatch' });
  });

  it('opens only A256GCM with the key itself: the same bytes as a key-wrapping key, or an altered ciphertext, do not open', async () => {
    const key = newKey();
    const asKeyWrap = async (kid: string) => {
      const plaintext = new TextEncoder().encode(JSON.stringify({ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', d: 'd' }));
      return new CompactEncrypt(plaintext).setProtectedHeader({ alg: 'A256KW', enc: 'A256GCM', kid }).encrypt(Buffer.from(key, 'base64url'));
    };
    const altered = (jwe: string) => {
      const parts = jwe.split('.');
      const ciphertext = parts[3]!;
      parts[3] = `${ciphertext[0] === 'A' ? 'B' : 'A'}${ciphertext.slice(1)}`;
      return parts.join('.');
    };
    for (const bad of [(kid: string) => asKeyWrap(kid), (_kid: string, jwe: string) => altered(jwe)]) {
      const env = { ...(await database()), KEY_ENCRYPTION_KEY: key };
      await withServer(env, async (t) => {
        const [row] = await storedKeys(t);
        const value = await bad(row!.kid, row!.privateJwk.jwe as string);
        await t.gatehouse.services.db.query('UPDATE signing_keys SET private_jwk = $2 WHERE kid = $1', [row!.kid, JSON.stringify({ jwe: value })]);
      });
      await expect(startTestServer(env)).rejects.toMatchObject({ code: 'key_encryption_key_mismatch' });
    }
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('on an instance that cannot open a key sealed after it started: verifies, applies retirements, cannot sign, not ready', async () => {
    const env = await database();
    const keyless = await startTestServer(env); // started before any key was sealed
    cleanup.push(() => keyless.close());
    const oldToken = (await loginAs(keyless.client)).accessToken;
    const keyed = await startTestServer({ ...env, KEY_ENCRYPTION_KEY: newKey() }); // seals the table
    cleanup.push(() => keyed.close());
    const oldKid = decodeProtectedHeader(oldToken).kid!;
    await keyed.gatehouse.services.keys.rotate({ activateInS: 0, force: true });
    const newToken = (await loginAs(keyed.client)).accessToken;
    expect(decodeProtectedHeader(newToken).kid).not.toBe(oldKid);

    // Past the new key's activation on the keyless instance's clock, and past the at most one
    // re-read a second for unknown kids: it meets the new kid, re-reads the table, and
    // verifies with the new key's public half.
    keyless.clock.advance(15);
    expect(await meStatus(keyless, newToken)).toBe(200);
    const notReady = await getReadiness({ client: keyless.client });
    expect(notReady.response.status).toBe(503);
    expect(notReady.error).toEqual({ status: 'unavailable' });
    expect((await getReadiness({ client: keyed.client })).response.status).toBe(200);
    // It cannot sign with the new key (a server error, not a token from a superseded key).
    const refused = await dummyjsonLogin({ client: keyless.client, body: { username: 'emilys', password: 'emilyspass' } });
    expect(refused.response.status).toBe(500);
    expect(refused.error).toEqual({ message: 'Internal server error' }); // DummyJSON's format, nothing internal

    // A retirement elsewhere still reaches it.
    expect(await meStatus(keyless, oldToken)).toBe(200);
    await keyed.gatehouse.services.keys.retire(oldKid);
    keyless.clock.advance(11);
    await meStatus(keyless, oldToken); // starts the background re-read
    await expect.poll(() => meStatus(keyless, oldToken), { timeout: 5_000 }).toBe(401);
  });

  it('is asked for by a warning when a production server starts without it', async () => {
    const warnings = async (env: Record<string, string>) => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, done) {
          lines.push(...chunk.toString().split('\n').filter(Boolean));
          done();
        },
      });
      const t = await startTestServer({ NODE_ENV: 'production', ...env }, { logger: createLogger('warn', sink) });
      await t.close();
      return lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    };
    expect(await warnings({})).toContainEqual(
      expect.objectContaining({ level: 40, msg: 'the private signing keys are stored unencrypted in the database: set KEY_ENCRYPTION_KEY (README, Deploying)' }),
    );
    expect((await warnings({ KEY_ENCRYPTION_KEY: newKey() })).filter((l) => l.msg.includes('KEY_ENCRYPTION_KEY'))).toEqual([]);
  });

  it('must be 32 bytes in base64url', () => {
    for (const bad of ['short', randomBytes(31).toString('base64url'), randomBytes(33).toString('base64url'), randomBytes(32).toString('base64')]) {
      expect(() => loadConfig({ KEY_ENCRYPTION_KEY: bad })).toThrow(ConfigError);
    }
    expect(() => loadConfig({ KEY_ENCRYPTION_KEY: 'x' })).toThrow(/KEY_ENCRYPTION_KEY must be 32 random bytes in base64url/);
    // A real key in the wrong alphabet (openssl rand -base64 32) is refused without being shown.
    const standard = randomBytes(32).toString('base64');
    expect(() => loadConfig({ KEY_ENCRYPTION_KEY: standard })).toThrow(/\(value not shown\)/);
    expect(() => loadConfig({ KEY_ENCRYPTION_KEY: standard })).not.toThrow(standard);
    const key = newKey();
    expect(loadConfig({ KEY_ENCRYPTION_KEY: key }).keyEncryptionKey).toEqual(new Uint8Array(Buffer.from(key, 'base64url')));
    expect(loadConfig({}).keyEncryptionKey).toBeUndefined();
  });
});
