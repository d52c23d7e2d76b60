// Signing-key rotation: a new key is published before it signs, the old one keeps verifying
// every token it signed until the longest of them has expired, then leaves the JWKS; an
// emergency retirement kills a key's tokens at once.
import { decodeProtectedHeader } from 'jose';
import { afterEach, describe, expect, it } from 'vitest';
import { cocartValidateToken, dummyjsonMe, getJwks, mahoGetMe } from '../generated/client/sdk.gen.js';
import { AdminError } from '../src/core/admin-errors.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { cocartLoginAs, UA } from './helpers/cocart.js';
import { bearer, loginAs } from './helpers/dummyjson.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';
import { customerToken } from './helpers/maho.js';

const servers: TestServer[] = [];
afterEach(async () => {
  // The last one first: the first server drops the database the others share.
  for (const s of servers.splice(0).reverse()) await s.close();
});

async function start(env: Record<string, string> = {}): Promise<TestServer> {
  const t = await startTestServer(env);
  servers.push(t);
  return t;
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;

async function jwksKids(t: TestServer): Promise<string[]> {
  const { data, response } = await getJwks({ client: t.client });
  expect(response.status).toBe(200);
  expect(response.headers.get('cache-control')).toBe('public, max-age=300');
  return data!.keys.map((k) => k.kid);
}

const meStatus = async (t: TestServer, token: string) => (await dummyjsonMe({ client: t.client, headers: bearer(token) })).response.status;
const cocartStatus = async (t: TestServer, token: string) =>
  (await cocartValidateToken({ client: t.client, headers: { ...bearer(token), 'User-Agent': UA } })).response.status;
const mahoStatus = async (t: TestServer, token: string) => (await mahoGetMe({ client: t.client, headers: bearer(token) })).response.status;

const DAY = 86_400;

describe('KeyRing.rotate', () => {
  it('publishes the new key at once, signs with it only after the delay, and keeps the old one until its last token expires', async () => {
    // Sessions outlive the longest access token here, so only the key can end the old tokens.
    const t = await start({ SESSION_MAX_AGE_S: String(365 * DAY) });
    const keys = t.gatehouse.services.keys;
    const [oldKid] = await jwksKids(t);
    const dummy = (await loginAs(t.client, 'emilys')).accessToken;
    const cocart = (await cocartLoginAs(t.client, 'michaelw')).extras.jwt_token;
    expect(kidOf(dummy)).toBe(oldKid);

    const rotation = await keys.rotate();
    const now = t.clock.now();
    expect(rotation.activatesAt.getTime()).toBe(now + 600 * 1000); // KEY_ROTATION_DELAY_S default
    // DummyJSON's expiresInMins cap (30 days) is the longest token; plus CLOCK_TOLERANCE_S.
    const retireAfter = rotation.activatesAt.getTime() + (43_200 * 60 + 30) * 1000;
    expect(rotation.retiring).toEqual([expect.objectContaining({ kid: oldKid, state: 'signing', retireAfter: new Date(retireAfter) })]);
    expect(rotation.cancelled).toEqual([]);
    expect(await jwksKids(t)).toEqual([oldKid, rotation.kid]);
    expect((await keys.list()).map((k) => [k.kid, k.state])).toEqual([
      [oldKid, 'signing'],
      [rotation.kid, 'pending'],
    ]);

    // The last token the old key signs, as long as a token can be.
    t.clock.advance(599);
    const last = (await loginAs(t.client, 'sophiab', { expiresInMins: 43_200 })).accessToken;
    const maho = await customerToken(t.client, 'jamesd');
    expect([kidOf(last), kidOf(maho)]).toEqual([oldKid, oldKid]);

    t.clock.advance(1);
    const fresh = (await loginAs(t.client, 'emmaj')).accessToken;
    expect(kidOf(fresh)).toBe(rotation.kid);
    expect((await keys.list()).map((k) => k.state)).toEqual(['verifying-only', 'signing']);
    expect(await meStatus(t, dummy)).toBe(200);
    expect(await cocartStatus(t, cocart)).toBe(200);
    expect(await mahoStatus(t, maho)).toBe(200);
    expect(await meStatus(t, fresh)).toBe(200);

    // Nine days on: the CoCart token (ten days) still verifies by the old key.
    t.clock.advance(9 * DAY);
    expect(await cocartStatus(t, cocart)).toBe(200);
    expect(await jwksKids(t)).toEqual([oldKid, rotation.kid]);

    // Up to the last token's expiry plus the leeway, the old key verifies and is published.
    t.clock.advance((retireAfter - t.clock.now()) / 1000 - 2);
    expect(await meStatus(t, last)).toBe(200);
    expect(await jwksKids(t)).toEqual([oldKid, rotation.kid]);

    t.clock.advance(2);
    expect(await jwksKids(t)).toEqual([rotation.kid]);
    expect(await meStatus(t, last)).toBe(401);
    expect((await keys.list()).map((k) => k.state)).toEqual(['retired', 'signing']);
  });

  it('refuses a second rotation while a new key is pending; a forced one retires the pending key unused', async () => {
    const t = await start();
    const keys = t.gatehouse.services.keys;
    const [oldKid] = await jwksKids(t);
    const first = await keys.rotate({ activateInS: 900 });
    const refusal = await keys.rotate().catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(AdminError);
    expect(refusal).toMatchObject({ code: 'conflict', message: expect.stringContaining(`key ${first.kid} from an earlier rotation activates at`) });
    expect(await jwksKids(t)).toEqual([oldKid, first.kid]);

    t.clock.advance(60);
    const second = await keys.rotate({ force: true });
    expect(second.cancelled).toEqual([expect.objectContaining({ kid: first.kid, state: 'retired' })]);
    expect(second.activatesAt.getTime()).toBe(t.clock.now() + 600 * 1000);
    expect(await jwksKids(t)).toEqual([oldKid, second.kid]);
    // The old key signs until the second key activates, so its retirement moved with it.
    expect((await keys.list()).find((k) => k.kid === oldKid)!.retireAfter!.getTime()).toBe(
      second.activatesAt.getTime() + (43_200 * 60 + 30) * 1000,
    );
    t.clock.advance(600);
    expect(kidOf((await loginAs(t.client)).accessToken)).toBe(second.kid);
  });

  it('refuses a negative or fractional delay', async () => {
    const t = await start();
    await expect(t.gatehouse.services.keys.rotate({ activateInS: -1 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(t.gatehouse.services.keys.rotate({ activateInS: 1.5 })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('KeyRing.retire', () => {
  it('kills every token of a retired key at once, in every dialect, also when its verification was cached', async () => {
    const t = await start();
    const keys = t.gatehouse.services.keys;
    const [leaked] = await jwksKids(t);
    const dummy = (await loginAs(t.client)).accessToken;
    const cocart = (await cocartLoginAs(t.client, 'michaelw')).extras.jwt_token;
    const maho = await customerToken(t.client, 'jamesd');
    expect(await meStatus(t, dummy)).toBe(200); // verified once: now in the verified-token cache

    const replacement = await keys.rotate({ activateInS: 0 });
    t.clock.advance(1);
    expect(await meStatus(t, dummy)).toBe(200); // rotation alone keeps old tokens valid
    const retired = await keys.retire(leaked!);
    expect(retired).toMatchObject({ kid: leaked, state: 'retired', retireAfter: new Date(t.clock.now()) });

    expect(await jwksKids(t)).toEqual([replacement.kid]);
    expect(await meStatus(t, dummy)).toBe(401);
    expect(await cocartStatus(t, cocart)).toBe(401);
    expect(await mahoStatus(t, maho)).toBe(401);
    const next = (await loginAs(t.client)).accessToken;
    expect(kidOf(next)).toBe(replacement.kid);
    expect(await meStatus(t, next)).toBe(200);
  });

  it('refuses to retire the key signing now, an unknown key, or a retired one', async () => {
    const t = await start();
    const keys = t.gatehouse.services.keys;
    const [only] = await jwksKids(t);
    await expect(keys.retire(only!)).rejects.toMatchObject({
      code: 'conflict',
      message: expect.stringContaining('is the one signing now; rotate with no delay first'),
    });
    await expect(keys.retire('no-such-kid')).rejects.toMatchObject({ code: 'not_found', message: 'no signing key no-such-kid' });
    await keys.rotate({ activateInS: 0 });
    t.clock.advance(1);
    await keys.retire(only!);
    await expect(keys.retire(only!)).rejects.toMatchObject({ code: 'conflict', message: expect.stringContaining('is already retired') });
    expect(await meStatus(t, (await loginAs(t.client)).accessToken)).toBe(200);
  });

  it('retiring a pending key cancels its rotation: the signing key is no longer scheduled to retire', async () => {
    const t = await start();
    const keys = t.gatehouse.services.keys;
    const [current] = await jwksKids(t);
    const rotation = await keys.rotate();
    await keys.retire(rotation.kid);
    expect(await jwksKids(t)).toEqual([current]);
    expect((await keys.list()).map((k) => [k.kid, k.state, k.retireAfter])).toEqual([
      [current, 'signing', null],
      [rotation.kid, 'retired', new Date(t.clock.now())],
    ]);
    t.clock.advance(365 * DAY);
    expect(kidOf((await loginAs(t.client)).accessToken)).toBe(current);
    await keys.rotate(); // no longer pending: a new rotation is allowed
  });
});

describe('KeyRing.purgeRetired', () => {
  it('deletes a key only a day after it retired, never one that verifies or signs', async () => {
    const t = await start();
    const keys = t.gatehouse.services.keys;
    const [first] = await jwksKids(t);
    const second = await keys.rotate({ activateInS: 0 });
    t.clock.advance(1);
    await keys.retire(first!);
    const third = await keys.rotate(); // pending: second is now scheduled to retire
    t.clock.advance(DAY);
    expect(await keys.purgeRetired()).toBe(0);
    t.clock.advance(1);
    expect(await keys.purgeRetired()).toBe(1);
    expect((await keys.list()).map((k) => [k.kid, k.state])).toEqual([
      [second.kid, 'verifying-only'],
      [third.kid, 'signing'],
    ]);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('several instances on one PostgreSQL database', () => {
  it('an instance shows another instance’s new key in its JWKS at once, signs with it on time, and drops a retired key', async () => {
    const a = await start();
    const b = await start({ DATABASE_URL: a.config.database.kind === 'postgres' ? a.config.database.url : '' });
    b.clock.advance((a.clock.now() - b.clock.now()) / 1000); // one time for both
    const [oldKid] = await jwksKids(a);
    const token = (await loginAs(a.client)).accessToken;
    expect(await meStatus(a, token)).toBe(200);

    const rotation = await b.gatehouse.services.keys.rotate();
    a.clock.advance(2);
    b.clock.advance(2);
    expect(await jwksKids(a)).toEqual([oldKid, rotation.kid]);

    a.clock.advance(600);
    b.clock.advance(600);
    expect(kidOf((await loginAs(a.client)).accessToken)).toBe(rotation.kid);

    await b.gatehouse.services.keys.retire(oldKid!);
    a.clock.advance(2);
    expect(await jwksKids(a)).toEqual([rotation.kid]); // the JWKS re-reads when a second stale
    expect(await meStatus(a, token)).toBe(401);
  });
});

describe('KEY_ROTATION_DELAY_S', () => {
  it('defaults to 600 s and sets the longest token lifetime from every dialect', () => {
    expect(loadConfig({})).toMatchObject({ keyRotationDelayS: 600, maxAccessTokenTtlS: 43_200 * 60 });
    expect(loadConfig({ COCART_ACCESS_TOKEN_TTL_S: String(31_536_000) }).maxAccessTokenTtlS).toBe(31_536_000);
    expect(loadConfig({ KEY_ROTATION_DELAY_S: '3600' }).keyRotationDelayS).toBe(3600);
  });

  it.each(['60', '309', 'soon', '2592001'])('refuses %s: a new key must reach every cached JWKS before it signs', (value) => {
    expect(() => loadConfig({ KEY_ROTATION_DELAY_S: value })).toThrow(ConfigError);
    expect(() => loadConfig({ KEY_ROTATION_DELAY_S: value })).toThrow(
      /KEY_ROTATION_DELAY_S must be a whole number of seconds from 310 to 2592000: a new key must reach every cached JWKS \(max-age 300 s/,
    );
  });
});
