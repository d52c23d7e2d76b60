// The customers resource: registration, the current customer, password change, and the
// admin level with each permission kind; deactivation and permission changes apply at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dummyjsonLogin,
  dummyjsonMe,
  mahoChangePassword,
  mahoDeleteCustomer,
  mahoGetCustomer,
  mahoGetMe,
  mahoListCustomers,
  mahoRegisterCustomer,
  mahoToken,
  mahoUpdateMe,
} from '../../generated/client/sdk.gen.js';
import { zMahoCustomer, zMahoCustomerList, zMahoError } from '../../generated/client/zod.gen.js';
import { bearer, loginAs } from '../helpers/dummyjson.js';
import { startTestServer, type TestServer } from '../helpers/gatehouse.js';
import { customerToken, demoApiUserToken, demoClientToken, mahoError, mahoTokenFor } from '../helpers/maho.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const FORBIDDEN = mahoError(403, 'forbidden', 'Access denied');
const NOT_FOUND = mahoError(404, 'not_found', 'Customer not found');
const AUTH_REQUIRED = mahoError(401, 'unauthorized', 'Authentication required');
const INVALID_TOKEN = mahoError(401, 'unauthorized', 'Invalid or expired token');

let serial = 0;
/** Registers a fresh customer and returns its id, credentials and a customer token. */
async function newCustomer() {
  const email = `customer${++serial}.${Date.now()}@example.com`;
  const password = 'a long enough passphrase';
  const { data, response } = await mahoRegisterCustomer({ client: t.client, body: { email, password, firstName: 'New', lastName: 'Customer' } });
  expect(response.status).toBe(201);
  const token = (await mahoTokenFor(t.client, { email, password })).token;
  return { id: data!.id, email, password, token };
}

/** A service principal with exactly these permissions, and its token. */
async function serviceWith(permissions: string[]) {
  const { principal, secret } = await t.gatehouse.services.servicePrincipals.create('api_user', {
    name: `svc-${++serial}`,
    permissions,
  });
  const token = (await mahoTokenFor(t.client, { grant_type: 'api_user', username: principal.name, api_key: secret })).token;
  return { principal, token, secret };
}

describe('POST /api/rest/v2/customers (public registration)', () => {
  it('creates a customer who can then log in, in every dialect', async () => {
    const email = 'fresh.person@example.com';
    const { data, response } = await mahoRegisterCustomer({
      client: t.client,
      body: { email, password: 'correct horse battery', firstName: 'Fresh', lastName: 'Person' },
    });
    expect(response.status).toBe(201);
    expect(zMahoCustomer.parse(data)).toMatchObject({ email, firstName: 'Fresh', lastName: 'Person' });
    const login = await mahoToken({ client: t.client, body: { email, password: 'correct horse battery' } });
    expect(login.data!.customer).toEqual({ id: data!.id, email, firstName: 'Fresh', lastName: 'Person' });
    // One identity store: the new customer logs in through DummyJSON too (the email is the username).
    const dummy = await dummyjsonLogin({ client: t.client, body: { username: email, password: 'correct horse battery' } });
    expect(dummy.response.status).toBe(200);
    expect(dummy.data!.id).toBe(data!.id);
    expect(dummy.data!.image).toBe('');
  });

  it.each([
    ['too short', 'short1', 'Password must be at least 8 characters'],
    ['too common', 'password123', 'Password is too common'],
    ['the email itself', 'weak.choice@example.com', 'Password must not be the email or username'],
    ['the email name', 'weak.choice', 'Password must not be the email or username'],
  ])('answers 400 invalid_request for a password that is %s', async (_name, password, message) => {
    const { error, response } = await mahoRegisterCustomer({
      client: t.client,
      body: { email: 'weak.choice@example.com', password, firstName: 'W', lastName: 'C' },
    });
    expect(response.status).toBe(400);
    expect(error).toEqual(mahoError(400, 'invalid_request', message));
  });

  it('answers 409 conflict for an email that is taken, in any case', async () => {
    const { error, response } = await mahoRegisterCustomer({
      client: t.client,
      body: { email: 'Emily.Johnson@x.dummyjson.com', password: 'another long passphrase', firstName: 'E', lastName: 'J' },
    });
    expect(response.status).toBe(409);
    expect(error).toEqual(mahoError(409, 'conflict', 'A customer with this email already exists'));
  });

  it('answers 400 for blank names', async () => {
    const { error, response } = await mahoRegisterCustomer({
      client: t.client,
      body: { email: 'blank.names@example.com', password: 'long enough pass', firstName: '   ', lastName: 'b' },
    });
    expect(response.status).toBe(400);
    expect(zMahoError.parse(error).message).toMatch(/^Invalid request: body\.firstName/);
  });

  it('answers 400 for missing fields or a bad email, 413 and 415', async () => {
    const missing = await mahoRegisterCustomer({ client: t.client, body: { email: 'x@example.com' } as never });
    expect(missing.response.status).toBe(400);
    expect(zMahoError.parse(missing.error)).toMatchObject({ error: 'invalid_request', code: 400 });
    const bad = await mahoRegisterCustomer({
      client: t.client,
      body: { email: 'not an email', password: 'long enough pass', firstName: 'a', lastName: 'b' },
    });
    expect(bad.response.status).toBe(400);
    expect(zMahoError.parse(bad.error).message).toMatch(/email/);
    const huge = await mahoRegisterCustomer({
      client: t.client,
      body: { email: 'big@example.com', password: 'long enough pass', firstName: 'x'.repeat(100_000), lastName: 'b' },
    });
    expect(huge.response.status).toBe(413);
    const text = await mahoRegisterCustomer({
      client: t.client,
      body: {} as never,
      headers: { 'Content-Type': 'text/plain' },
      bodySerializer: () => 'x',
    });
    expect(text.response.status).toBe(415);
    expect(text.error).toEqual(mahoError(415, 'unsupported_media_type', 'Unsupported Content-Type'));
  });

  it('is rate limited per IP', async () => {
    const limited = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_IP: '1/60' });
    try {
      const register = (n: number) =>
        mahoRegisterCustomer({
          client: limited.client,
          body: { email: `burst${n}@example.com`, password: 'long enough pass', firstName: 'a', lastName: 'b' },
        });
      expect((await register(1)).response.status).toBe(201);
      const { error, response } = await register(2);
      expect(response.status).toBe(429);
      expect(error).toEqual(mahoError(429, 'too_many_requests', 'Too many requests, try again later'));
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await limited.close();
    }
  });
});

describe('/api/rest/v2/customers/me (customer level)', () => {
  it('GET answers the current customer; 403 for a service token; 401 without a token', async () => {
    const { data, response } = await mahoGetMe({ client: t.client, headers: bearer(await customerToken(t.client, 'michaelw')) });
    expect(response.status).toBe(200);
    expect(zMahoCustomer.parse(data)).toMatchObject({ id: 2, email: 'michael.williams@x.dummyjson.com' });
    const service = await mahoGetMe({ client: t.client, headers: bearer(await demoClientToken(t.client)) });
    expect(service.response.status).toBe(403);
    expect(service.error).toEqual(FORBIDDEN);
    const none = await mahoGetMe({ client: t.client });
    expect(none.response.status).toBe(401);
    expect(none.error).toEqual(AUTH_REQUIRED);
  });

  it('PATCH changes the profile; 409 for a taken email; 400 for unknown or no fields; 403 for a service', async () => {
    const me = await newCustomer();
    const { data, response } = await mahoUpdateMe({ client: t.client, headers: bearer(me.token), body: { lastName: 'Renamed' } });
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ id: me.id, lastName: 'Renamed', firstName: 'New' });
    expect((await mahoGetMe({ client: t.client, headers: bearer(me.token) })).data!.lastName).toBe('Renamed');
    const taken = await mahoUpdateMe({ client: t.client, headers: bearer(me.token), body: { email: 'michael.williams@x.dummyjson.com' } });
    expect(taken.response.status).toBe(409);
    expect(taken.error).toEqual(mahoError(409, 'conflict', 'A customer with this email already exists'));
    for (const body of [{}, { role: 'admin' }]) {
      const bad = await mahoUpdateMe({ client: t.client, headers: bearer(me.token), body: body as never });
      expect(bad.response.status).toBe(400);
      expect(zMahoError.parse(bad.error).error).toBe('invalid_request');
    }
    const service = await mahoUpdateMe({ client: t.client, headers: bearer(await demoClientToken(t.client)), body: { lastName: 'x' } });
    expect(service.error).toEqual(FORBIDDEN);
    const unauthenticated = await mahoUpdateMe({ client: t.client, body: { lastName: 'x' } });
    expect(unauthenticated.error).toEqual(AUTH_REQUIRED);
  });

  it('PATCH of the email moves the login name with it, and frees the old email', async () => {
    const me = await newCustomer();
    const moved = `moved.${me.email}`;
    const { data } = await mahoUpdateMe({ client: t.client, headers: bearer(me.token), body: { email: moved } });
    expect(data!.email).toBe(moved);
    expect((await mahoToken({ client: t.client, body: { email: me.email, password: me.password } })).response.status).toBe(401);
    expect((await mahoToken({ client: t.client, body: { email: moved, password: me.password } })).data!.customer!.id).toBe(me.id);
    const reuse = await mahoRegisterCustomer({
      client: t.client,
      body: { email: me.email, password: 'someone else entirely', firstName: 'Other', lastName: 'Person' },
    });
    expect(reuse.response.status).toBe(201);
    // Setting one's own email again, in another case, is not a conflict.
    expect((await mahoUpdateMe({ client: t.client, headers: bearer(me.token), body: { email: moved.toUpperCase() } })).response.status).toBe(200);
  });

  it('PATCH answers 400 for blank names', async () => {
    const me = await newCustomer();
    const blank = await mahoUpdateMe({ client: t.client, headers: bearer(me.token), body: { firstName: '   ' } });
    expect(blank.response.status).toBe(400);
    expect(zMahoError.parse(blank.error).message).toMatch(/^Invalid request: body\.firstName/);
  });

  it('PATCH of the email is rate limited, since a 409 tells whether an email is registered', async () => {
    const limited = await startTestServer({ RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_IP: '100/60', RATE_LIMIT_LOGIN_ACCOUNT: '2/60' });
    try {
      const tok = (await mahoTokenFor(limited.client, { username: 'emmaj', password: 'emmajpass' })).token;
      const probe = (email: string) => mahoUpdateMe({ client: limited.client, headers: bearer(tok), body: { email } });
      expect((await probe('michael.williams@x.dummyjson.com')).response.status).toBe(409);
      expect((await probe('james.davis@x.dummyjson.com')).response.status).toBe(409);
      const { error, response } = await probe('sophia.brown@x.dummyjson.com');
      expect(response.status).toBe(429);
      expect(error).toEqual(mahoError(429, 'too_many_requests', 'Too many requests, try again later'));
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Names are not rate limited.
      expect((await mahoUpdateMe({ client: limited.client, headers: bearer(tok), body: { lastName: 'M' } })).response.status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('PATCH answers 413 and 415 in the Maho format, and changes nothing', async () => {
    const me = await newCustomer();
    const huge = await mahoUpdateMe({ client: t.client, headers: bearer(me.token), body: { lastName: 'x'.repeat(100_000) } });
    expect(huge.response.status).toBe(413);
    expect(huge.error).toEqual(mahoError(413, 'payload_too_large', 'Request body is too large'));
    const text = await mahoUpdateMe({
      client: t.client,
      headers: { ...bearer(me.token), 'Content-Type': 'text/plain' },
      body: {} as never,
      bodySerializer: () => 'lastName=x',
    });
    expect(text.response.status).toBe(415);
    expect(text.error).toEqual(mahoError(415, 'unsupported_media_type', 'Unsupported Content-Type'));
    expect((await mahoGetMe({ client: t.client, headers: bearer(me.token) })).data!.lastName).toBe('Customer');
  });

  it('POST /me/password changes it and revokes every other session, in every dialect', async () => {
    const me = await newCustomer();
    const other = (await mahoTokenFor(t.client, { email: me.email, password: me.password })).token;
    const dummy = await loginAs(t.client, 'emilys'); // someone else: untouched
    const { data, response } = await mahoChangePassword({
      client: t.client,
      headers: bearer(me.token),
      body: { currentPassword: me.password, newPassword: 'a brand new passphrase' },
    });
    expect(response.status).toBe(200);
    expect(data).toEqual({ success: true, message: 'Password changed' });
    expect((await mahoGetMe({ client: t.client, headers: bearer(me.token) })).response.status).toBe(200);
    expect((await mahoGetMe({ client: t.client, headers: bearer(other) })).error).toEqual(INVALID_TOKEN);
    expect((await dummyjsonMe({ client: t.client, headers: bearer(dummy.accessToken) })).response.status).toBe(200);
    expect((await mahoToken({ client: t.client, body: { email: me.email, password: me.password } })).response.status).toBe(401);
    expect((await mahoToken({ client: t.client, body: { email: me.email, password: 'a brand new passphrase' } })).response.status).toBe(200);
  });

  it('POST /me/password answers 400 for a wrong current password or a weak new one, 403 for a service', async () => {
    const me = await newCustomer();
    const wrong = await mahoChangePassword({
      client: t.client,
      headers: bearer(me.token),
      body: { currentPassword: 'not it at all', newPassword: 'a brand new passphrase' },
    });
    expect(wrong.response.status).toBe(400);
    expect(wrong.error).toEqual(mahoError(400, 'invalid_request', 'Current password is incorrect'));
    const weak = await mahoChangePassword({ client: t.client, headers: bearer(me.token), body: { currentPassword: me.password, newPassword: 'short' } });
    expect(weak.error).toEqual(mahoError(400, 'invalid_request', 'Password must be at least 8 characters'));
    const service = await mahoChangePassword({
      client: t.client,
      headers: bearer(await demoClientToken(t.client)),
      body: { currentPassword: 'x', newPassword: 'a brand new passphrase' },
    });
    expect(service.error).toEqual(FORBIDDEN);
  });

  it('POST /me/password answers 401 without a token, 413 and 415, and the password stays', async () => {
    const me = await newCustomer();
    const none = await mahoChangePassword({ client: t.client, body: { currentPassword: me.password, newPassword: 'a brand new passphrase' } });
    expect(none.response.status).toBe(401);
    expect(none.error).toEqual(AUTH_REQUIRED);
    expect(none.response.headers.get('www-authenticate')).toBe('Bearer realm="maho"');
    const huge = await mahoChangePassword({
      client: t.client,
      headers: bearer(me.token),
      body: { currentPassword: me.password, newPassword: 'x'.repeat(100_000) },
    });
    expect(huge.error).toEqual(mahoError(413, 'payload_too_large', 'Request body is too large'));
    const text = await mahoChangePassword({
      client: t.client,
      headers: { ...bearer(me.token), 'Content-Type': 'text/plain' },
      body: {} as never,
      bodySerializer: () => 'x',
    });
    expect(text.error).toEqual(mahoError(415, 'unsupported_media_type', 'Unsupported Content-Type'));
    expect((await mahoToken({ client: t.client, body: { email: me.email, password: me.password } })).response.status).toBe(200);
  });

  it('POST /me/password counts a wrong current password as a failed login, on the login limits', async () => {
    // Two attempts per account and network, three per account in all, four per address.
    const env = { RATE_LIMITS: 'on', RATE_LIMIT_LOGIN_ACCOUNT: '2/60', RATE_LIMIT_LOGIN_ACCOUNT_TOTAL: '3/60', RATE_LIMIT_LOGIN_IP: '4/60' };
    const limited = await startTestServer({ ...env, TRUST_PROXY: 'loopback' });
    try {
      const from = (address: string) => ({ 'X-Forwarded-For': address });
      const [a, b, c, d] = ['198.51.100.7', '203.0.113.9', '192.0.2.33', '198.51.100.200'];
      const emmaj = { username: 'emmaj', password: 'emmajpass' };
      const login = (address: string, body: { username: string; password: string }) => mahoToken({ client: limited.client, headers: from(address), body });
      const tok = (await login(d!, emmaj)).data!.token;
      const change = (address: string, currentPassword: string) =>
        mahoChangePassword({ client: limited.client, headers: { ...bearer(tok), ...from(address) }, body: { currentPassword, newPassword: 'a brand new passphrase' } });
      const TOO_MANY = mahoError(429, 'too_many_requests', 'Too many requests, try again later');

      // From network a: a failed login and a wrong current password fill the account's two attempts there.
      expect((await login(a!, { ...emmaj, password: 'guess 1' })).response.status).toBe(401);
      expect((await change(a!, 'guess 2')).error).toEqual(mahoError(400, 'invalid_request', 'Current password is incorrect'));
      const refused = await change(a!, emmaj.password); // the right one, too late
      expect(refused.response.status).toBe(429);
      expect(refused.error).toEqual(TOO_MANY);
      expect(Number(refused.response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // ... and so a login from there, as any login past the account's limit: like a wrong password.
      expect((await login(a!, emmaj)).error).toEqual(mahoError(401, 'invalid_credentials', 'Invalid email or password'));
      // The password changes counted against the address too: its fifth attempt, at another account, is refused.
      const other = await login(a!, { username: 'sophiab', password: 'sophiabpass' });
      expect(other.response.status).toBe(429);
      expect(other.error).toEqual(TOO_MANY);

      // From network b the owner still gets in; a wrong current password from there is the account's third failure in all ...
      expect((await login(b!, emmaj)).response.status).toBe(200);
      expect((await change(b!, 'guess 3')).response.status).toBe(400);
      // ... so from a third network even the right one is refused until the window ends.
      expect((await change(c!, emmaj.password)).error).toEqual(TOO_MANY);
      expect((await login(c!, emmaj)).response.status).toBe(401);
    } finally {
      await limited.close();
    }
  });
});

describe('GET /api/rest/v2/customers (admin or customers/read)', () => {
  it('lists with pagination for an admin customer, an API user with customers/read, and all', async () => {
    for (const tok of [await customerToken(t.client, 'emilys'), await demoApiUserToken(t.client), await demoClientToken(t.client)]) {
      const { data, response } = await mahoListCustomers({ client: t.client, headers: bearer(tok), query: { page: 2, pageSize: 5 } });
      expect(response.status).toBe(200);
      const page = zMahoCustomerList.parse(data);
      expect(page).toMatchObject({ page: 2, pageSize: 5 });
      expect(page.items.map((c) => c.id)).toEqual([6, 7, 8, 9, 10]);
      expect(page.total).toBeGreaterThanOrEqual(30);
    }
    expect((await mahoListCustomers({ client: t.client, headers: bearer(await serviceWith(['customers/all']).then((s) => s.token)) })).response.status).toBe(200);
  });

  it('answers 403 for a non-admin customer and a service without the permission; 401 without a token', async () => {
    const plain = await mahoListCustomers({ client: t.client, headers: bearer(await customerToken(t.client, 'emmaj')) });
    expect(plain.response.status).toBe(403);
    expect(plain.error).toEqual(FORBIDDEN);
    const wrongResource = await serviceWith(['orders/read', 'customers/delete']);
    expect((await mahoListCustomers({ client: t.client, headers: bearer(wrongResource.token) })).error).toEqual(FORBIDDEN);
    const none = await mahoListCustomers({ client: t.client });
    expect(none.response.status).toBe(401);
    expect(none.error).toEqual(AUTH_REQUIRED);
  });

  it('answers 400 for a page out of range', async () => {
    const { error, response } = await mahoListCustomers({ client: t.client, headers: bearer(await demoClientToken(t.client)), query: { page: 0 } });
    expect(response.status).toBe(400);
    expect(zMahoError.parse(error)).toMatchObject({ error: 'invalid_request', code: 400 });
  });
});

describe('/api/rest/v2/customers/{id}', () => {
  it('GET: admin and customers/read see anyone; a customer sees only themself and gets 404 for others', async () => {
    for (const tok of [await customerToken(t.client, 'emilys'), await demoApiUserToken(t.client)]) {
      const { data, response } = await mahoGetCustomer({ client: t.client, headers: bearer(tok), path: { id: 3 } });
      expect(response.status).toBe(200);
      expect(data).toMatchObject({ id: 3, email: 'sophia.brown@x.dummyjson.com' });
    }
    const emma = await customerToken(t.client, 'emmaj');
    expect((await mahoGetCustomer({ client: t.client, headers: bearer(emma), path: { id: 5 } })).data).toMatchObject({ id: 5 });
    const other = await mahoGetCustomer({ client: t.client, headers: bearer(emma), path: { id: 3 } });
    expect(other.response.status).toBe(404);
    expect(other.error).toEqual(NOT_FOUND);
    const absent = await mahoGetCustomer({ client: t.client, headers: bearer(emma), path: { id: 999_999 } });
    expect(absent.error).toEqual(NOT_FOUND);
  });

  it('GET: 404 for no such customer, 403 for a service without customers/read, 400 for a bad id, 401 without a token', async () => {
    expect((await mahoGetCustomer({ client: t.client, headers: bearer(await demoClientToken(t.client)), path: { id: 999_999 } })).error).toEqual(NOT_FOUND);
    const writer = await serviceWith(['customers/write']);
    expect((await mahoGetCustomer({ client: t.client, headers: bearer(writer.token), path: { id: 1 } })).error).toEqual(FORBIDDEN);
    const bad = await fetch(`${t.url}/api/rest/v2/customers/abc`, { headers: bearer(await demoClientToken(t.client)) });
    expect(bad.status).toBe(400);
    expect(zMahoError.parse(await bad.json())).toMatchObject({ error: 'invalid_request' });
    expect((await mahoGetCustomer({ client: t.client, path: { id: 1 } })).error).toEqual(AUTH_REQUIRED);
  });

  it('DELETE with customers/delete (or all) deletes, and every token of that customer dies at once', async () => {
    const victim = await newCustomer();
    const dummyLogin = await dummyjsonLogin({
      client: t.client,
      body: { username: victim.email, password: victim.password },
    });
    expect(dummyLogin.response.status).toBe(200);
    const deleter = await serviceWith(['customers/delete']);
    const { data, response } = await mahoDeleteCustomer({ client: t.client, headers: bearer(deleter.token), path: { id: victim.id } });
    expect(response.status).toBe(200);
    expect(data).toEqual({ success: true, message: 'Customer deleted' });
    expect((await mahoGetMe({ client: t.client, headers: bearer(victim.token) })).error).toEqual(INVALID_TOKEN);
    expect((await dummyjsonMe({ client: t.client, headers: bearer(dummyLogin.data!.accessToken) })).response.status).toBe(401);
    const again = await mahoDeleteCustomer({ client: t.client, headers: bearer(await demoClientToken(t.client)), path: { id: victim.id } });
    expect(again.response.status).toBe(404);
    expect(again.error).toEqual(NOT_FOUND);
  });

  it('DELETE by an admin customer and by `all`; staff accounts only by an admin or `all`', async () => {
    const byAdmin = await newCustomer();
    const admin = await customerToken(t.client, 'emilys');
    expect((await mahoDeleteCustomer({ client: t.client, headers: bearer(admin), path: { id: byAdmin.id } })).response.status).toBe(200);
    const byAll = await newCustomer();
    expect((await mahoDeleteCustomer({ client: t.client, headers: bearer(await demoClientToken(t.client)), path: { id: byAll.id } })).response.status).toBe(200);

    const staff = await t.gatehouse.services.users.insert(
      { username: `staff-${Date.now()}`, email: `staff.${Date.now()}@example.com`, passwordHash: 'x', role: 'moderator' },
      new Date(),
    );
    for (const perms of [['customers/delete'], ['customers/all']]) {
      const svc = await serviceWith(perms);
      const refused = await mahoDeleteCustomer({ client: t.client, headers: bearer(svc.token), path: { id: staff.id } });
      expect(refused.response.status).toBe(403);
      expect(refused.error).toEqual(FORBIDDEN);
    }
    expect((await mahoDeleteCustomer({ client: t.client, headers: bearer(await demoClientToken(t.client)), path: { id: staff.id } })).response.status).toBe(200);
  });

  it('DELETE: 403 without the permission or for oneself; 404 for a customer touching another; 401 without a token', async () => {
    const target = await newCustomer();
    expect((await mahoDeleteCustomer({ client: t.client, headers: bearer(await demoApiUserToken(t.client)), path: { id: target.id } })).error).toEqual(FORBIDDEN);
    expect((await mahoDeleteCustomer({ client: t.client, headers: bearer(target.token), path: { id: target.id } })).error).toEqual(FORBIDDEN);
    expect((await mahoDeleteCustomer({ client: t.client, headers: bearer(target.token), path: { id: 1 } })).error).toEqual(NOT_FOUND);
    expect((await mahoDeleteCustomer({ client: t.client, path: { id: target.id } })).error).toEqual(AUTH_REQUIRED);
    const bad = await fetch(`${t.url}/api/rest/v2/customers/0`, { method: 'DELETE', headers: bearer(await demoClientToken(t.client)) });
    expect(bad.status).toBe(400);
    expect((await mahoGetMe({ client: t.client, headers: bearer(target.token) })).response.status).toBe(200);
  });
});

describe('the principal is re-read on every request', () => {
  it('a deactivated customer is refused on the next request, and cannot log in', async () => {
    const me = await newCustomer();
    expect((await mahoGetMe({ client: t.client, headers: bearer(me.token) })).response.status).toBe(200);
    await t.gatehouse.services.accounts.setActive(me.id, false);
    expect((await mahoGetMe({ client: t.client, headers: bearer(me.token) })).error).toEqual(INVALID_TOKEN);
    const login = await mahoToken({ client: t.client, body: { email: me.email, password: me.password } });
    expect(login.error).toEqual(mahoError(401, 'invalid_credentials', 'Invalid email or password'));
    // Deactivation revoked the sessions: reactivation does not bring the old token back.
    await t.gatehouse.services.accounts.setActive(me.id, true);
    expect((await mahoGetMe({ client: t.client, headers: bearer(me.token) })).error).toEqual(INVALID_TOKEN);
    const fresh = await mahoTokenFor(t.client, { email: me.email, password: me.password });
    expect((await mahoGetMe({ client: t.client, headers: bearer(fresh.token) })).response.status).toBe(200);
  });

  it('a deactivated API user is refused on the next request, and cannot get a token', async () => {
    const svc = await serviceWith(['customers/read']);
    expect((await mahoListCustomers({ client: t.client, headers: bearer(svc.token) })).response.status).toBe(200);
    await t.gatehouse.services.servicePrincipals.setActive(svc.principal.id, false);
    expect((await mahoListCustomers({ client: t.client, headers: bearer(svc.token) })).error).toEqual(INVALID_TOKEN);
    const again = await mahoToken({ client: t.client, body: { grant_type: 'api_user', username: svc.principal.name, api_key: svc.secret } });
    expect(again.response.status).toBe(401);
    expect(again.error).toEqual(mahoError(401, 'invalid_client', 'Invalid client credentials'));
  });

  it('permissions come from the store, not from the token', async () => {
    const svc = await serviceWith(['customers/read']);
    expect((await mahoListCustomers({ client: t.client, headers: bearer(svc.token) })).response.status).toBe(200);
    await t.gatehouse.services.servicePrincipals.setPermissions(svc.principal.id, ['orders/read']);
    expect((await mahoListCustomers({ client: t.client, headers: bearer(svc.token) })).error).toEqual(FORBIDDEN);
    await t.gatehouse.services.servicePrincipals.setPermissions(svc.principal.id, ['all']);
    expect((await mahoListCustomers({ client: t.client, headers: bearer(svc.token) })).response.status).toBe(200);
  });
});
