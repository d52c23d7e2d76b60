// Two Gatehouse processes on one PostgreSQL database, as behind a load balancer: whatever one
// instance does takes effect on the other at once, because neither keeps anything in memory
// that another process could make stale (sessions and principals are read from the database
// on every request; rate-limit counters live there too). Each case warms instance B first,
// so a cache that could go stale would be holding the old answer.
//
// Runs when TEST_DATABASE_URL is set (CI's second pass); the embedded database has one process.
// Administrative operations (deactivation, key rotation) run in a third process's worth of
// services here, as the admin command line (`npx gatehouse`) does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../generated/client/client/index.js';
import {
  cocartValidateToken,
  dummyjsonLogin,
  dummyjsonLogout,
  dummyjsonMe,
  dummyjsonRefresh,
  mahoChangePassword,
  mahoGetMe,
  mahoListCustomers,
  mahoRegisterCustomer,
} from '../generated/client/sdk.gen.js';
import { loadConfig } from '../src/config.js';
import { createServices, type Services } from '../src/services.js';
import { cocartLoginAs, UA } from './helpers/cocart.js';
import { bearer, loginAs } from './helpers/dummyjson.js';
import { testDatabase } from './helpers/gatehouse.js';
import { mahoTokenFor } from './helpers/maho.js';
import { spawnServer, type ServerProcess } from './helpers/process.js';

const ACCOUNT_LIMIT = 4;

describe.runIf(Boolean(process.env.TEST_DATABASE_URL))('two instances on one PostgreSQL database', () => {
  let database: Awaited<ReturnType<typeof testDatabase>>;
  let a: ServerProcess;
  let b: ServerProcess;
  let admin: Services;
  const me = (client: Client, token: string) => dummyjsonMe({ client, headers: bearer(token) }).then((r) => r.response.status);

  beforeAll(async () => {
    database = await testDatabase();
    const env = {
      DATABASE_URL: database.url,
      PUBLIC_URL: 'http://gatehouse.test', // one issuer for every instance
      SEED_DEMO: 'true',
      RATE_LIMITS: 'on',
      RATE_LIMIT_LOGIN_IP: '1000/60',
      RATE_LIMIT_LOGIN_ACCOUNT: `${ACCOUNT_LIMIT}/60`,
      REFRESH_REUSE_GRACE_S: '0', // every reuse of a rotated refresh token is a replay
    };
    a = await spawnServer(env); // migrates and seeds the empty database
    b = await spawnServer(env);
    admin = await createServices(loadConfig({ ...env, NODE_ENV: 'test', SEED_DEMO: 'false' }));
  }, 120_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), admin?.close()]);
    await database?.drop();
  });

  it('accept on B the tokens A issued, in every dialect', async () => {
    const dummy = await loginAs(a.client, 'emilys');
    expect(await me(b.client, dummy.accessToken)).toBe(200);
    const cocart = await cocartLoginAs(a.client, 'michaelw');
    const validated = await cocartValidateToken({ client: b.client, headers: { ...bearer(cocart.extras.jwt_token), 'User-Agent': UA } });
    expect(validated.response.status).toBe(200);
    const service = await mahoTokenFor(a.client, { grant_type: 'client_credentials', client_id: 'demo-client', client_secret: 'demo-client-secret' });
    expect((await mahoListCustomers({ client: b.client, headers: bearer(service.token) })).response.status).toBe(200);
  });

  it('revoke the session on both when a token refreshed on A is replayed on B', async () => {
    const login = await loginAs(a.client, 'sophiab');
    expect(await me(b.client, login.accessToken)).toBe(200);
    const rotated = await dummyjsonRefresh({ client: a.client, body: { refreshToken: login.refreshToken } });
    expect(rotated.response.status).toBe(200);
    const replay = await dummyjsonRefresh({ client: b.client, body: { refreshToken: login.refreshToken } });
    expect(replay.response.status).toBe(403);
    for (const instance of [a, b]) {
      expect(await me(instance.client, rotated.data!.accessToken)).toBe(401);
      expect(await me(instance.client, login.accessToken)).toBe(401);
    }
    const next = await dummyjsonRefresh({ client: a.client, body: { refreshToken: rotated.data!.refreshToken } });
    expect(next.response.status).toBe(403);
  });

  it('end a session on B at once when it logs out on A', async () => {
    const login = await loginAs(b.client, 'emmaj');
    expect(await me(b.client, login.accessToken)).toBe(200);
    expect((await dummyjsonLogout({ client: a.client, headers: bearer(login.accessToken) })).response.status).toBe(200);
    expect(await me(b.client, login.accessToken)).toBe(401);
    expect((await dummyjsonRefresh({ client: b.client, body: { refreshToken: login.refreshToken } })).response.status).toBe(403);
  });

  it('under concurrent load on B (lookups read together), see a logout on A from the next request on', async () => {
    const sessions = await Promise.all(['emilys', 'michaelw', 'sophiab', 'jamesd', 'emmaj'].map((u) => loginAs(a.client, u)));
    const victim = sessions[2]!; // sophiab
    let loggedOutAt = Infinity; // when A answered the logout
    const wrong: string[] = [];
    let answered = 0;
    const stream = async (s: (typeof sessions)[number], worker: number) => {
      for (let i = 0; i < 40; i++) {
        const sentAt = performance.now();
        const status = await me(b.client, s.accessToken);
        answered++;
        const expected = s === victim && sentAt > loggedOutAt ? 401 : s === victim && status === 401 ? 401 : 200;
        if (status !== expected) wrong.push(`worker ${worker}: ${status}, expected ${expected}`);
      }
    };
    const load = Promise.all(Array.from({ length: 24 }, (_, i) => stream(sessions[i % sessions.length]!, i)));
    await new Promise((r) => setTimeout(r, 150));
    expect((await dummyjsonLogout({ client: a.client, headers: bearer(victim.accessToken) })).response.status).toBe(200);
    loggedOutAt = performance.now();
    await load;
    expect(wrong).toEqual([]);
    expect(answered).toBe(24 * 40);
    expect(await me(b.client, victim.accessToken)).toBe(401);
    for (const s of sessions) if (s !== victim) expect(await me(b.client, s.accessToken)).toBe(200);
  });

  it("end the user's other sessions on B at once when the password changes on A", async () => {
    const email = `two.instances.${Date.now()}@example.test`;
    const password = 'first passphrase 4711';
    const registered = await mahoRegisterCustomer({ client: a.client, body: { email, password, firstName: 'Two', lastName: 'Instances' } });
    expect(registered.response.status).toBe(201);
    const onB = await mahoTokenFor(b.client, { email, password });
    const dummyOnB = await dummyjsonLogin({ client: b.client, body: { username: email, password } });
    expect(dummyOnB.response.status).toBe(200);
    const changer = await mahoTokenFor(a.client, { email, password });
    expect((await mahoGetMe({ client: b.client, headers: bearer(onB.token) })).response.status).toBe(200);
    expect(await me(b.client, dummyOnB.data!.accessToken)).toBe(200);

    const changed = await mahoChangePassword({
      client: a.client,
      headers: bearer(changer.token),
      body: { currentPassword: password, newPassword: 'second passphrase 0815' },
    });
    expect(changed.response.status).toBe(200);
    expect((await mahoGetMe({ client: b.client, headers: bearer(onB.token) })).response.status).toBe(401);
    expect(await me(b.client, dummyOnB.data!.accessToken)).toBe(401);
    // The caller's own session lives on, on both instances.
    expect((await mahoGetMe({ client: b.client, headers: bearer(changer.token) })).response.status).toBe(200);
    const oldPassword = await dummyjsonLogin({ client: b.client, body: { username: email, password } });
    expect(oldPassword.response.status).toBe(400);
  });

  it('refuse a deactivated user or service principal on both at once', async () => {
    const onA = await loginAs(a.client, 'jamesd');
    const onB = await loginAs(b.client, 'jamesd');
    const service = await mahoTokenFor(a.client, { grant_type: 'api_user', username: 'demo-api', api_key: 'demo-api-key' });
    expect(await me(b.client, onA.accessToken)).toBe(200);
    expect((await mahoListCustomers({ client: b.client, headers: bearer(service.token) })).response.status).toBe(200);

    expect(await admin.accounts.setActive(onA.id, false)).toBe(true);
    expect(await admin.servicePrincipals.setActive(service.apiUser!.id, false)).toBe(true);
    for (const instance of [a, b]) {
      expect(await me(instance.client, onA.accessToken)).toBe(401);
      expect(await me(instance.client, onB.accessToken)).toBe(401);
      expect((await mahoListCustomers({ client: instance.client, headers: bearer(service.token) })).response.status).toBe(401);
      const login = await dummyjsonLogin({ client: instance.client, body: { username: 'jamesd', password: 'jamesdpass' } });
      expect(login.response.status).toBe(400);
    }
    // Activating again does not bring the old tokens back.
    await admin.accounts.setActive(onA.id, true);
    await admin.servicePrincipals.setActive(service.apiUser!.id, true);
    expect(await me(b.client, onB.accessToken)).toBe(401);
    expect((await mahoListCustomers({ client: b.client, headers: bearer(service.token) })).response.status).toBe(401);
  });

  it('share rate limits: failed logins split across A and B trip the per-account limit on both', async () => {
    for (let i = 0; i < ACCOUNT_LIMIT; i++) {
      const instance = i % 2 === 0 ? a : b;
      const failed = await dummyjsonLogin({ client: instance.client, body: { username: 'avat', password: `wrong-${i}` } });
      expect(failed.response.status).toBe(400);
    }
    // Even the right password is refused now, on both, answered like a wrong one (a 429 would
    // tell that the account exists).
    for (const instance of [a, b]) {
      const limited = await dummyjsonLogin({ client: instance.client, body: { username: 'avat', password: 'avatpass' } });
      expect(limited.response.status).toBe(400);
      expect(limited.error).toEqual({ message: 'Invalid credentials' });
    }
    // Other accounts are not affected.
    expect((await dummyjsonLogin({ client: b.client, body: { username: 'oliviaw', password: 'oliviawpass' } })).response.status).toBe(200);
  });

  it('follow a key rotation and an emergency retirement made elsewhere (the admin command line)', async () => {
    const jwksOf = async (instance: ServerProcess) =>
      ((await (await fetch(`${instance.url}/.well-known/jwks.json`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);
    const until = async (what: () => Promise<boolean>, seconds: number) => {
      for (const end = Date.now() + seconds * 1000; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) if (await what()) return true;
      return what();
    };
    const old = (await loginAs(a.client, 'emilys')).accessToken;
    const oldKid = JSON.parse(Buffer.from(old.split('.')[0]!, 'base64url').toString()).kid as string;
    expect(await me(b.client, old)).toBe(200);

    // Rotated with no delay (the emergency form): B publishes the new key within a second
    // (its JWKS re-reads the key table when its copy is older than that)...
    const rotation = await admin.keys.rotate({ activateInS: 0, force: true });
    expect(await until(async () => (await jwksOf(b)).includes(rotation.kid), 4)).toBe(true);
    expect(await jwksOf(b)).toContain(oldKid);
    // ...and both instances go on accepting the old key's tokens while it retires.
    expect(await me(b.client, old)).toBe(200);
    expect(await me(a.client, old)).toBe(200);
    // Whatever key B signs with now, A accepts it (an unknown kid re-reads the keys, at most once a second).
    const fromB = (await loginAs(b.client, 'michaelw')).accessToken;
    expect(await until(async () => (await me(a.client, fromB)) === 200, 4)).toBe(true);

    // A leaked key retired now: its tokens die on every instance within the 10 s re-read.
    await admin.keys.retire(oldKid);
    // Asked of both at once, so neither instance's re-read waits for the other's; 15 s leaves
    // room for a slow machine.
    const bothRefuse = async () => (await Promise.all([me(b.client, old), me(a.client, old)])).every((status) => status === 401);
    expect(await until(bothRefuse, 15)).toBe(true);
    expect(await jwksOf(b)).not.toContain(oldKid);
  }, 60_000);
});
