// A login races a password change or a deactivation: the login has checked the old password
// (or the still-active user) when the change commits and revokes every session. The login must
// then open nothing; a session opened after the revocation would outlive it (and, after a
// deactivation, come back to life on reactivation). The race is made certain by running the
// change inside the login, right after its password check (the hasher's verify is wrapped):
// the real change, through core, at the worst moment. On both engines.
import { hash } from '@node-rs/argon2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonLogin, dummyjsonMe, mahoToken } from '../generated/client/sdk.gen.js';
import { bearer } from './helpers/dummyjson.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';
import { mahoError } from './helpers/maho.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const OLD = 'the old passphrase 1';
const NEW = 'the new passphrase 2';

/** A new user with password OLD; `weak` stores it with weaker argon2id parameters (rehashed at login). */
async function newUser(weak = false) {
  const name = `racer${Math.random().toString(36).slice(2, 10)}`;
  const passwordHash = weak
    ? await hash(OLD, { algorithm: 2, memoryCost: 4_096, timeCost: 1, parallelism: 1 })
    : await t.gatehouse.services.passwords.hash(OLD);
  return t.gatehouse.services.users.insert({ username: name, email: `${name}@example.test`, passwordHash }, new Date(t.clock.now()));
}

/** Runs `change` once, inside the next password verification, right after it succeeded. */
function duringNextLogin(change: () => Promise<unknown>): void {
  const passwords = t.gatehouse.services.passwords;
  const verify = passwords.verify.bind(passwords);
  passwords.verify = async (stored, given) => {
    passwords.verify = verify;
    const ok = await verify(stored, given);
    await change();
    return ok;
  };
}

const liveSessions = async (userId: number) =>
  (await t.gatehouse.services.sessions.listForUser(userId)).filter((s) => s.revokedAt === null);

const dummyjson = (username: string, password: string) => dummyjsonLogin({ client: t.client, body: { username, password } });

describe('a login that checked the old password while it was changed', () => {
  it('opens no session (DummyJSON, a session with a refresh token); the new password works', async () => {
    const user = await newUser();
    const keep = await dummyjson(user.username, OLD);
    expect(keep.response.status).toBe(200);
    const keptSession = (await liveSessions(user.id))[0]!.id;
    duringNextLogin(() => t.gatehouse.services.accounts.changePassword(user, OLD, NEW, keptSession));
    const raced = await dummyjson(user.username, OLD);
    expect(raced.response.status).toBe(400);
    expect(raced.error).toEqual({ message: 'Invalid credentials' });
    expect((await liveSessions(user.id)).map((s) => s.id)).toEqual([keptSession]);
    expect((await dummyjson(user.username, OLD)).response.status).toBe(400);
    expect((await dummyjson(user.username, NEW)).response.status).toBe(200);
  });

  it('opens no session (Maho customer, a session without a refresh token)', async () => {
    const user = await newUser();
    duringNextLogin(() => t.gatehouse.services.accounts.changePassword(user, OLD, NEW, 'no-session-kept'));
    const raced = await mahoToken({ client: t.client, body: { email: user.email, password: OLD } });
    expect(raced.response.status).toBe(401);
    expect(raced.error).toEqual(mahoError(401, 'invalid_credentials', 'Invalid email or password'));
    expect(await liveSessions(user.id)).toEqual([]);
  });

  it('does not write the old password back when its hash was due for an upgrade', async () => {
    const user = await newUser(true);
    duringNextLogin(() => t.gatehouse.services.accounts.changePassword(user, OLD, NEW, 'no-session-kept'));
    expect((await dummyjson(user.username, OLD)).response.status).toBe(400);
    expect(await liveSessions(user.id)).toEqual([]);
    expect((await dummyjson(user.username, OLD)).response.status).toBe(400);
    expect((await dummyjson(user.username, NEW)).response.status).toBe(200);
  });
});

describe('a login that found the user active while they were deactivated', () => {
  it('opens no session, so none comes back when the user is activated again', async () => {
    const user = await newUser();
    duringNextLogin(() => t.gatehouse.services.accounts.setActive(user.id, false));
    const raced = await dummyjson(user.username, OLD);
    expect(raced.response.status).toBe(400);
    expect(await liveSessions(user.id)).toEqual([]);
    await t.gatehouse.services.accounts.setActive(user.id, true);
    expect(await liveSessions(user.id)).toEqual([]);
    const again = await dummyjson(user.username, OLD);
    expect(again.response.status).toBe(200);
    expect((await dummyjsonMe({ client: t.client, headers: bearer(again.data!.accessToken) })).response.status).toBe(200);
  });
});
