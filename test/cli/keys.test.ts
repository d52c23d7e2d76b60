// gatehouse keys …: list, rotate and retire signing keys; the server publishes and uses what
// the command line did.
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonMe, getJwks } from '../../generated/client/sdk.gen.js';
import { bearer, loginAs } from '../helpers/dummyjson.js';
import type { TestServer } from '../helpers/gatehouse.js';
import { cliDatabase, gatehouse, json, withServer } from './cli.js';

let db: Awaited<ReturnType<typeof cliDatabase>>;
beforeAll(async () => {
  db = await cliDatabase();
});
afterAll(() => db.drop());

const cli = (args: string[]) => gatehouse(args, db.env);

interface KeyJson {
  kid: string;
  state: string;
  createdAt: string;
  activatesAt: string;
  retireAfter: string | null;
}

async function jwksKids(t: TestServer): Promise<string[]> {
  const { data, response } = await getJwks({ client: t.client });
  expect(response.headers.get('cache-control')).toBe('public, max-age=300');
  return data!.keys.map((k) => k.kid);
}

describe('gatehouse keys', () => {
  it('lists, rotates and retires keys; the server publishes and signs accordingly', async () => {
    const { kid: k0, token } = await withServer(db.env, async (t) => {
      const [kid] = await jwksKids(t);
      return { kid: kid!, token: (await loginAs(t.client, 'emilys')).accessToken };
    });

    const listed = json<{ keys: KeyJson[] }>(await cli(['keys', 'list', '--json']));
    expect(listed.keys).toHaveLength(1);
    expect(Object.keys(listed.keys[0]!).sort()).toEqual(['activatesAt', 'createdAt', 'kid', 'retireAfter', 'state']);
    expect(listed.keys[0]).toMatchObject({ kid: k0, state: 'signing', retireAfter: null });

    const before = Date.now();
    const rotated = await cli(['keys', 'rotate', '--json']);
    expect(rotated).toMatchObject({ code: 0, stderr: '' });
    const r1 = json<{ kid: string; activatesAt: string; retiring: KeyJson[]; cancelled: KeyJson[] }>(rotated);
    const activation = Date.parse(r1.activatesAt);
    expect(activation).toBeGreaterThanOrEqual(before + 600_000);
    expect(activation).toBeLessThan(Date.now() + 600_000);
    expect(r1.retiring).toEqual([expect.objectContaining({ kid: k0, retireAfter: new Date(activation + (43_200 * 60 + 30) * 1000).toISOString() })]);
    expect(r1.cancelled).toEqual([]);

    const refused = await cli(['keys', 'rotate']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`^gatehouse: key ${r1.kid} from an earlier rotation activates at ${r1.activatesAt}; wait for it, or force`));

    const forced = await cli(['keys', 'rotate', '--activate-in', '0', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stderr).toBe('note: the new key signs before the 300 s a JWKS may be cached have passed\n');
    const k2 = /^new key (\S+) signs from /.exec(forced.stdout)![1]!;
    expect(forced.stdout).toContain(`\npending key ${r1.kid} retired unused\n`);
    expect(forced.stdout).toContain(`\nkey ${k0} retires at `);

    expect(await cli(['keys', 'retire', k2])).toMatchObject({ code: 1, stderr: expect.stringContaining(`key ${k2} is the one signing now`) });
    expect(await cli(['keys', 'retire', 'nope'])).toMatchObject({ code: 1, stderr: 'gatehouse: no signing key nope\n' });
    // Kids are RFC 7638 thumbprints in base64url: 1 in 64 starts with "-", and is pasted as it is.
    expect(await cli(['keys', 'retire', '-Gx3nope', '--json'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^\{"error":"[a-z_]+","message":"no signing key -Gx3nope"\}\n$/),
    });
    const table = await cli(['keys', 'list']);
    expect(table.stdout).toMatch(/^KID +STATE +CREATED +ACTIVATES_AT +RETIRE_AFTER\n/);
    expect(table.stdout).toMatch(new RegExp(`\\n${k0} +verifying-only `));
    expect(table.stdout).toMatch(new RegExp(`\\n${r1.kid} +retired `));
    expect(table.stdout).toMatch(new RegExp(`\\n${k2} +signing `));
    expect(table.stdout).not.toContain('"d"');

    await withServer(db.env, async (t) => {
      expect(await jwksKids(t)).toEqual([k0, k2]);
      expect(decodeProtectedHeader((await loginAs(t.client, 'michaelw')).accessToken).kid).toBe(k2);
      expect((await dummyjsonMe({ client: t.client, headers: bearer(token) })).response.status).toBe(200);
    });

    const retired = json<KeyJson>(await cli(['keys', 'retire', k0, '--json']));
    expect(retired).toMatchObject({ kid: k0, state: 'retired' });

    await withServer(db.env, async (t) => {
      expect(await jwksKids(t)).toEqual([k2]);
      expect((await dummyjsonMe({ client: t.client, headers: bearer(token) })).response.status).toBe(401);
    });
  }, 240_000);
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('beside a running server on PostgreSQL', () => {
  it('takes effect on the server at once: revocations on the next request, a new key in the next JWKS', async () => {
    await withServer(db.env, async (t) => {
      const login = await loginAs(t.client, 'sophiab');
      const published = await jwksKids(t);
      expect(await cli(['sessions', 'revoke-all', 'sophiab'])).toMatchObject({ code: 0 });
      expect((await dummyjsonMe({ client: t.client, headers: bearer(login.accessToken) })).response.status).toBe(401);

      const rotated = json<{ kid: string }>(await cli(['keys', 'rotate', '--force', '--json']));
      t.clock.advance(2); // the JWKS answer re-reads keys older than a second
      expect(await jwksKids(t)).toEqual([...published, rotated.kid]);
    });
  }, 120_000);
});
