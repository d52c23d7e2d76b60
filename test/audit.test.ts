// The audit trail in the server's log: one line per security event, with who asked and the
// request's id, and nothing secret. Every request here goes through HTTP; the lines are read
// from the server's own logger.
import { Writable } from 'node:stream';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  cocartLogin,
  dummyjsonLogin,
  dummyjsonLogout,
  dummyjsonRefresh,
  mahoChangePassword,
  mahoDeleteCustomer,
  mahoGetCustomer,
  mahoGetMe,
  mahoListCustomers,
  mahoRegisterCustomer,
  mahoToken,
  mahoUpdateMe,
  oauthRevoke,
  oauthToken,
} from '../generated/client/sdk.gen.js';
import type { CocartLoginResponse } from '../generated/client/types.gen.js';
import { createLogger } from '../src/http/logging.js';
import { bearer } from './helpers/dummyjson.js';
import { startTestServer, type TestServer } from './helpers/gatehouse.js';
import { basic, DEMO_CLIENT } from './helpers/oauth.js';

type Line = Record<string, unknown>;
const lines: Line[] = [];
/** What the other servers of this file wrote. */
const otherLines: Line[] = [];
const UA = 'AuditTest/1.0';
let t: TestServer;
let lastAddress = 0;
/** A client address of its own, through the trusted loopback proxy, so that the rate limits of one test do not touch another. */
const from = () => {
  const ip = `198.51.100.${++lastAddress}`;
  return { ip, headers: { 'X-Forwarded-For': ip, 'User-Agent': UA } };
};

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Line);
      done();
    },
  });
  t = await startTestServer(
    { RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_IP: '10/60', RATE_LIMIT_LOGIN_ACCOUNT: '2/60', TRUST_PROXY: 'loopback', REFRESH_REUSE_GRACE_S: '0' },
    { logger: createLogger('info', sink) },
  );
});
afterAll(() => t?.close());

/** Every password, secret and token a test sent or received, and any JWT: no log line may hold one. */
const secrets = new Set<string>(['emilyspass', 'michaelwpass', 'sophiabpass', 'emmajpass', DEMO_CLIENT.secret, 'eyJ']);
afterEach(() => {
  const written = JSON.stringify([...lines, ...otherLines]);
  for (const secret of secrets) expect(written, 'a secret in the log').not.toContain(secret);
});

/** The audit lines of the request `response` answers (by X-Request-Id), without their time. */
function audited(response: Response): Line[] {
  const id = response.headers.get('x-request-id');
  expect(id).toBeTruthy();
  return lines.filter((l) => l.msg === 'audit' && l.reqId === id).map(({ time: _time, ...rest }) => rest);
}

/** What every audit line of a request from `who` carries. */
const asked = (who: { ip: string }, response: Response) => ({ msg: 'audit', ip: who.ip, userAgent: UA, reqId: response.headers.get('x-request-id') });

const at = (level: number, event: Line) => ({ level, ...event });

describe('the audit trail', () => {
  it('records a login as its session: user, session, audience, and who asked', async () => {
    const who = from();
    const { data, response } = await dummyjsonLogin({ client: t.client, headers: who.headers, body: { username: 'emilys', password: 'emilyspass' } });
    expect(response.status).toBe(200);
    const session = decodeJwt(data!.accessToken).sid;
    expect(audited(response)).toEqual([
      at(30, { event: 'session_started', sessionId: session, audience: 'gatehouse:dummyjson', userId: 1, ...asked(who, response) }),
    ]);
    secrets.add(data!.accessToken).add(data!.refreshToken!);
    // Every dialect's login is recorded by the same core: CoCart's, with its own audience.
    const cocart = await cocartLogin({ client: t.client, headers: who.headers, body: { username: 'emilys', password: 'emilyspass' } });
    expect(cocart.response.status).toBe(200);
    const cocartData = cocart.data as CocartLoginResponse;
    secrets.add(cocartData.extras.jwt_token).add(cocartData.extras.jwt_refresh);
    expect(audited(cocart.response)).toEqual([
      at(30, { event: 'session_started', sessionId: decodeJwt(cocartData.extras.jwt_token).sid, audience: 'gatehouse:cocart', userId: 1, ...asked(who, cocart.response) }),
    ]);
  });

  it('records each failed login with its reason, naming the account only when there is one', async () => {
    const failure = async (who: { ip: string; headers: Record<string, string> }, username: string, password: string) => {
      const { response } = await dummyjsonLogin({ client: t.client, headers: who.headers, body: { username, password } });
      expect(response.status).toBe(400);
      return audited(response);
    };
    const who = from();
    const first = await dummyjsonLogin({ client: t.client, headers: who.headers, body: { username: 'michaelw', password: 'not his password' } });
    expect(audited(first.response)).toEqual([at(30, { event: 'login_failed', reason: 'wrong_password', userId: 2, ...asked(who, first.response) })]);
    // A name that is no account's is not written down: it may be a password typed in the wrong field.
    const typed = 'correct horse battery staple';
    secrets.add(typed);
    const unknown = await failure(who, typed, 'whatever');
    expect(unknown).toEqual([expect.objectContaining({ event: 'login_failed', reason: 'unknown_account' })]);
    expect(unknown[0]).not.toHaveProperty('userId');
    expect(JSON.stringify(lines)).not.toContain(typed);
    // A second wrong password uses up the account's two attempts from this network: then even the right one is refused.
    expect(await failure(who, 'michaelw', 'still not his')).toEqual([expect.objectContaining({ event: 'login_failed', reason: 'wrong_password', userId: 2 })]);
    expect(await failure(who, 'michaelw', 'michaelwpass')).toEqual([expect.objectContaining({ level: 40, event: 'login_failed', reason: 'account_rate_limited', userId: 2 })]);
    // A deactivated account, with its right password.
    await t.gatehouse.services.accounts.setActive(3, false);
    try {
      expect(await failure(from(), 'sophiab', 'sophiabpass')).toEqual([expect.objectContaining({ event: 'login_failed', reason: 'inactive', userId: 3 })]);
    } finally {
      await t.gatehouse.services.accounts.setActive(3, true);
    }
    // An address past its limit (ten): refused before any account is looked at, and recorded
    // once per window, since each further attempt costs its sender nothing.
    const busy = from();
    for (let i = 0; i < 10; i++) await dummyjsonLogin({ client: t.client, headers: busy.headers, body: { username: `nobody${i}`, password: 'x' } });
    const { response } = await dummyjsonLogin({ client: t.client, headers: busy.headers, body: { username: 'emilys', password: 'emilyspass' } });
    expect(response.status).toBe(429);
    expect(audited(response)).toEqual([at(40, { event: 'login_failed', reason: 'address_rate_limited', ...asked(busy, response) })]);
    for (let i = 0; i < 3; i++) {
      const more = await dummyjsonLogin({ client: t.client, headers: busy.headers, body: { username: 'emilys', password: 'emilyspass' } });
      expect(more.response.status).toBe(429);
      expect(audited(more.response)).toEqual([]);
    }
  });

  it('records a replayed refresh token at warn, with the session it revoked', async () => {
    const who = from();
    const login = await dummyjsonLogin({ client: t.client, headers: who.headers, body: { username: 'emilys', password: 'emilyspass' } });
    const used = login.data!.refreshToken!;
    secrets.add(used).add(login.data!.accessToken);
    const refreshed = await dummyjsonRefresh({ client: t.client, headers: who.headers, body: { refreshToken: used } });
    expect(refreshed.response.status).toBe(200);
    expect(audited(refreshed.response)).toEqual([]); // a refresh is routine
    const replay = await dummyjsonRefresh({ client: t.client, headers: who.headers, body: { refreshToken: used } });
    expect(replay.response.status).toBe(403);
    const sessionId = decodeJwt(login.data!.accessToken).sid;
    expect(audited(replay.response)).toEqual([at(40, { event: 'refresh_token_replayed', sessionId, userId: 1, revoked: true, ...asked(who, replay.response) })]);
  });

  it('records a logout and a token revocation with the session they ended', async () => {
    const who = from();
    const login = async () => (await dummyjsonLogin({ client: t.client, headers: who.headers, body: { username: 'emilys', password: 'emilyspass' } })).data!.accessToken;
    const first = await login();
    secrets.add(first);
    const logout = await dummyjsonLogout({ client: t.client, headers: { ...who.headers, ...bearer(first) } });
    expect(logout.response.status).toBe(200);
    expect(audited(logout.response)).toEqual([
      at(30, { event: 'sessions_revoked', reason: 'logout', count: 1, sessionId: decodeJwt(first).sid, userId: 1, ...asked(who, logout.response) }),
    ]);
    const second = await login();
    secrets.add(second);
    const demo = (await t.gatehouse.services.servicePrincipals.find('api_client', DEMO_CLIENT.id))!;
    const revoked = await oauthRevoke({ client: t.client, headers: { ...who.headers, ...basic(DEMO_CLIENT.id, DEMO_CLIENT.secret) }, body: { token: second } });
    expect(revoked.response.status).toBe(200);
    expect(audited(revoked.response)).toEqual([
      at(30, {
        event: 'sessions_revoked',
        reason: 'token_revocation',
        count: 1,
        sessionId: decodeJwt(second).sid,
        userId: 1,
        byOauthClientId: demo.id,
        ...asked(who, revoked.response),
      }),
    ]);
  });

  it("records a registration, an email change, and a password change with the sessions it ended (Maho)", async () => {
    const who = from();
    const email = `audited.${Date.now()}@example.com`;
    const password = 'a long enough passphrase';
    secrets.add(password).add('another long passphrase').add('not the password');
    const registered = await mahoRegisterCustomer({ client: t.client, headers: who.headers, body: { email, password, firstName: 'Au', lastName: 'Dit' } });
    expect(registered.response.status).toBe(201);
    const userId = registered.data!.id;
    expect(audited(registered.response)).toEqual([at(30, { event: 'user_registered', userId, ...asked(who, registered.response) })]);

    const token = async () => (await mahoToken({ client: t.client, headers: who.headers, body: { email, password } })).data!.token;
    const [mine, other] = [await token(), await token()];
    secrets.add(mine).add(other);
    const renamed = await mahoUpdateMe({ client: t.client, headers: { ...who.headers, ...bearer(mine) }, body: { email: `re.${email}` } });
    expect(renamed.response.status).toBe(200);
    expect(audited(renamed.response)).toEqual([at(30, { event: 'email_changed', userId, ...asked(who, renamed.response) })]);
    const named = await mahoUpdateMe({ client: t.client, headers: { ...who.headers, ...bearer(mine) }, body: { firstName: 'Audi' } });
    expect(audited(named.response)).toEqual([]); // names are not security events
    const same = await mahoUpdateMe({ client: t.client, headers: { ...who.headers, ...bearer(mine) }, body: { email: `re.${email}` } });
    expect(same.response.status).toBe(200);
    expect(audited(same.response)).toEqual([]); // the email it already has

    const change = (currentPassword: string) =>
      mahoChangePassword({ client: t.client, headers: { ...who.headers, ...bearer(mine) }, body: { currentPassword, newPassword: 'another long passphrase' } });
    const wrong = await change('not the password');
    expect(wrong.response.status).toBe(400);
    expect(audited(wrong.response)).toEqual([at(30, { event: 'password_change_failed', userId, reason: 'wrong_password', ...asked(who, wrong.response) })]);
    const changed = await change(password);
    expect(changed.response.status).toBe(200);
    expect(audited(changed.response)).toEqual([at(30, { event: 'password_changed', userId, sessionsRevoked: 1, ...asked(who, changed.response) })]);
    expect((await mahoGetMe({ client: t.client, headers: bearer(other) })).response.status).toBe(401); // the session it ended
    // Two wrong current passwords use up the account's attempts from this network.
    expect((await change('not the password either')).response.status).toBe(400);
    const limited = await change('another long passphrase');
    expect(limited.response.status).toBe(429);
    expect(audited(limited.response)).toEqual([at(40, { event: 'password_change_failed', userId, reason: 'rate_limited', ...asked(who, limited.response) })]);
  });

  it('records client authentication failures, and a client\'s token as its session (OAuth)', async () => {
    const who = from();
    const demo = (await t.gatehouse.services.servicePrincipals.find('api_client', DEMO_CLIENT.id))!;
    const grant = (id: string, secret: string) =>
      oauthToken({ client: t.client, headers: { ...who.headers, ...basic(id, secret) }, body: { grant_type: 'client_credentials' } });
    secrets.add('not-the-secret');
    const wrong = await grant(DEMO_CLIENT.id, 'not-the-secret');
    expect(wrong.response.status).toBe(401);
    expect(audited(wrong.response)).toEqual([
      at(30, { event: 'client_authentication_failed', kind: 'api_client', reason: 'wrong_secret', principalId: demo.id, ...asked(who, wrong.response) }),
    ]);
    const unknown = await grant('no-such-client', 'whatever');
    expect(audited(unknown.response)).toEqual([
      at(30, { event: 'client_authentication_failed', kind: 'api_client', reason: 'unknown_client', ...asked(who, unknown.response) }),
    ]);
    const ok = await grant(DEMO_CLIENT.id, DEMO_CLIENT.secret);
    expect(ok.response.status).toBe(200);
    secrets.add(ok.data!.access_token);
    expect(audited(ok.response)).toEqual([
      at(30, {
        event: 'session_started',
        sessionId: decodeJwt(ok.data!.access_token).sid,
        audience: t.config.oauth.audience,
        principalId: demo.id,
        oauthClientId: demo.id,
        ...asked(who, ok.response),
      }),
    ]);
  });

  it('records a deactivated API user refused, and an API client refused a grant it was not given', async () => {
    const who = from();
    const apiUser = await t.gatehouse.services.servicePrincipals.create('api_user', { name: `inactive-${Date.now()}`, permissions: ['customers/read'] });
    secrets.add(apiUser.secret);
    await t.gatehouse.services.servicePrincipals.setActive(apiUser.principal.id, false);
    const refused = await mahoToken({ client: t.client, headers: who.headers, body: { grant_type: 'api_user', username: apiUser.principal.name, api_key: apiUser.secret } });
    expect(refused.response.status).toBe(401);
    expect(audited(refused.response)).toEqual([
      at(30, { event: 'client_authentication_failed', kind: 'api_user', reason: 'inactive', principalId: apiUser.principal.id, ...asked(who, refused.response) }),
    ]);
    const passwordOnly = await t.gatehouse.services.servicePrincipals.create('api_client', { permissions: [], grantTypes: ['password'] });
    secrets.add(passwordOnly.secret);
    const grant = await oauthToken({
      client: t.client,
      headers: { ...who.headers, ...basic(passwordOnly.principal.name, passwordOnly.secret) },
      body: { grant_type: 'client_credentials' },
    });
    expect(grant.response.status).toBe(400);
    expect(audited(grant.response)).toEqual([
      at(30, { event: 'access_denied', action: 'grant client_credentials', principalId: passwordOnly.principal.id, ...asked(who, grant.response) }),
    ]);
  });

  it('records a user deleted through the API, and who deleted it (Maho)', async () => {
    const who = from();
    const victim = await t.gatehouse.services.accounts.create({ username: `doomed${Date.now()}`, email: `doomed.${Date.now()}@example.com`, password: 'a long enough passphrase' });
    const admin = (await mahoToken({ client: t.client, headers: who.headers, body: { email: 'emily.johnson@x.dummyjson.com', password: 'emilyspass' } })).data!.token;
    const deleted = await mahoDeleteCustomer({ client: t.client, headers: { ...who.headers, ...bearer(admin) }, path: { id: victim.id } });
    expect(deleted.response.status).toBe(200);
    expect(audited(deleted.response)).toEqual([at(30, { event: 'user_deleted', userId: victim.id, byUserId: 1, ...asked(who, deleted.response) })]);
    const again = await mahoDeleteCustomer({ client: t.client, headers: { ...who.headers, ...bearer(admin) }, path: { id: victim.id } });
    expect(again.response.status).toBe(404);
    expect(audited(again.response)).toEqual([]);
    // By an integration with the permission.
    const next = await t.gatehouse.services.accounts.create({ username: `doomed2${Date.now()}`, email: `doomed2.${Date.now()}@example.com`, password: 'a long enough passphrase' });
    const { principal, secret } = await t.gatehouse.services.servicePrincipals.create('api_user', { name: `deleter-${Date.now()}`, permissions: ['customers/delete'] });
    secrets.add(secret);
    const service = (await mahoToken({ client: t.client, headers: who.headers, body: { grant_type: 'api_user', username: principal.name, api_key: secret } })).data!.token;
    const byService = await mahoDeleteCustomer({ client: t.client, headers: { ...who.headers, ...bearer(service) }, path: { id: next.id } });
    expect(byService.response.status).toBe(200);
    expect(audited(byService.response)).toEqual([at(30, { event: 'user_deleted', userId: next.id, byPrincipalId: principal.id, ...asked(who, byService.response) })]);
  });

  it('records a request refused for want of a permission, with what it asked for (Maho)', async () => {
    const who = from();
    const customer = (await mahoToken({ client: t.client, headers: who.headers, body: { email: 'emma.miller@x.dummyjson.com', password: 'emmajpass' } })).data!;
    const emmaj = (await t.gatehouse.services.accounts.find('emmaj'))!.id;
    // Another customer's record: 404, so that the id is not confirmed, but recorded all the same.
    const other = await mahoGetCustomer({ client: t.client, headers: { ...who.headers, ...bearer(customer.token) }, path: { id: 1 } });
    expect(other.response.status).toBe(404);
    expect(audited(other.response)).toEqual([at(30, { event: 'access_denied', action: 'customers/read', userId: emmaj, targetUserId: 1, ...asked(who, other.response) })]);
    const own = await mahoGetCustomer({ client: t.client, headers: { ...who.headers, ...bearer(customer.token) }, path: { id: emmaj } });
    expect(own.response.status).toBe(200);
    expect(audited(own.response)).toEqual([]);
    // An integration past its permissions, and at the customer level.
    const { principal, secret } = await t.gatehouse.services.servicePrincipals.create('api_user', { name: `audited-${Date.now()}`, permissions: ['orders/read'] });
    const service = (await mahoToken({ client: t.client, headers: who.headers, body: { grant_type: 'api_user', username: principal.name, api_key: secret } })).data!.token;
    const listed = await mahoListCustomers({ client: t.client, headers: { ...who.headers, ...bearer(service) } });
    expect(listed.response.status).toBe(403);
    expect(audited(listed.response)).toEqual([at(30, { event: 'access_denied', action: 'customers/read', principalId: principal.id, ...asked(who, listed.response) })]);
    const me = await mahoGetMe({ client: t.client, headers: { ...who.headers, ...bearer(service) } });
    expect(me.response.status).toBe(403);
    expect(audited(me.response)).toEqual([at(30, { event: 'access_denied', action: 'customers/me', principalId: principal.id, ...asked(who, me.response) })]);
    const deleted = await mahoDeleteCustomer({ client: t.client, headers: { ...who.headers, ...bearer(service) }, path: { id: 5 } });
    expect(deleted.response.status).toBe(403);
    expect(audited(deleted.response)).toEqual([
      at(30, { event: 'access_denied', action: 'customers/delete', principalId: principal.id, targetUserId: 5, ...asked(who, deleted.response) }),
    ]);
  });

  it('caps what the client writes into a line: the address, behind a proxy, and the User-Agent', async () => {
    const long = { 'X-Forwarded-For': `${'1'.repeat(5_000)}`, 'User-Agent': `${'A'.repeat(900)}` };
    const { response } = await dummyjsonLogin({ client: t.client, headers: long, body: { username: 'emilys', password: 'wrong again' } });
    expect(response.status).toBe(400);
    expect(audited(response)).toEqual([
      expect.objectContaining({ event: 'login_failed', reason: 'wrong_password', ip: `${'1'.repeat(64)}…`, userAgent: `${'A'.repeat(256)}…` }),
    ]);
  });
});

describe('the audit trail with LOG_LEVEL=warn', () => {
  it('keeps what may be an attack (a replayed refresh token, a rate limit), and nothing routine', async () => {
    const warned = otherLines;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) warned.push(JSON.parse(l) as Line);
        done();
      },
    });
    const quiet = await startTestServer({ REFRESH_REUSE_GRACE_S: '0', RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_IP: '2/60' }, { logger: createLogger('warn', sink) });
    try {
      const login = await dummyjsonLogin({ client: quiet.client, body: { username: 'emilys', password: 'emilyspass' } });
      secrets.add(login.data!.refreshToken!).add(login.data!.accessToken);
      expect((await dummyjsonLogin({ client: quiet.client, body: { username: 'emilys', password: 'wrong' } })).response.status).toBe(400);
      const used = login.data!.refreshToken!;
      expect((await dummyjsonRefresh({ client: quiet.client, body: { refreshToken: used } })).response.status).toBe(200);
      expect((await dummyjsonRefresh({ client: quiet.client, body: { refreshToken: used } })).response.status).toBe(403);
      expect((await dummyjsonLogin({ client: quiet.client, body: { username: 'emilys', password: 'emilyspass' } })).response.status).toBe(429);
      expect(warned.map((l) => [l.level, l.event, l.reason])).toEqual([
        [40, 'refresh_token_replayed', undefined],
        [40, 'login_failed', 'address_rate_limited'],
      ]);
    } finally {
      await quiet.close();
    }
  });
});
