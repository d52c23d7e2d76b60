// The embedded default keeps its data: users, sessions, revocations and signing keys survive
// a restart on the same DATA_DIR, and demo users are seeded once.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonLogout, dummyjsonMe, dummyjsonRefresh, getJwks } from '../generated/client/sdk.gen.js';
import { bearer, loginAs } from './helpers/dummyjson.js';
import { startTestServer } from './helpers/gatehouse.js';

let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-test-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('embedded PGlite in DATA_DIR', () => {
  it('keeps users, sessions, revocations and keys across a restart', async () => {
    const env = { DATABASE_URL: '', DATA_DIR: dataDir };
    const first = await startTestServer(env);
    expect(first.gatehouse.services.seeded).toBe(true);
    const kept = await loginAs(first.client, 'emilys');
    const revoked = await loginAs(first.client, 'michaelw');
    await dummyjsonLogout({ client: first.client, headers: bearer(revoked.accessToken) });
    const rotated = await loginAs(first.client, 'sophiab');
    const next = (await dummyjsonRefresh({ client: first.client, body: { refreshToken: rotated.refreshToken } })).data!;
    const kid = (await getJwks({ client: first.client })).data!.keys[0]!.kid;
    await first.close();

    const second = await startTestServer(env);
    try {
      expect(second.gatehouse.services.seeded).toBe(false);
      expect(await second.gatehouse.services.users.count()).toBe(30);
      expect((await getJwks({ client: second.client })).data!.keys.map((k) => k.kid)).toEqual([kid]);
      const me = await dummyjsonMe({ client: second.client, headers: bearer(kept.accessToken) });
      expect(me.response.status).toBe(200);
      expect(me.data!.username).toBe('emilys');
      expect((await dummyjsonMe({ client: second.client, headers: bearer(revoked.accessToken) })).response.status).toBe(401);
      expect((await dummyjsonRefresh({ client: second.client, body: { refreshToken: next.refreshToken } })).response.status).toBe(200);
    } finally {
      await second.close();
    }
  }, 60_000); // two starts of PGlite from disk: about 16 s on a loaded CI machine
});
