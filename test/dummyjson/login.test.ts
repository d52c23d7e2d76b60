// POST /auth/login — every documented status, body, cookie and header.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonLogin, getJwks } from '../../generated/client/sdk.gen.js';
import { zDummyjsonError, zDummyjsonLoginResponse } from '../../generated/client/zod.gen.js';
import { EMILYS } from '../helpers/dummyjson.js';
import { FORM, formBody, setCookies, startTestServer, type TestServer } from '../helpers/gatehouse.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const login = (body: unknown, init: { headers?: Record<string, string>; bodySerializer?: (b: unknown) => string } = {}) =>
  dummyjsonLogin({ client: t.client, body: body as never, ...init });

describe('POST /auth/login', () => {
  it('logs in with JSON: body in the original key order, both cookies, no-store', async () => {
    const { data, response } = await login({ username: 'emilys', password: 'emilyspass', expiresInMins: 30 });
    expect(response.status).toBe(200);
    expect(Object.keys(data!)).toEqual([
      'accessToken', 'refreshToken', 'id', 'username', 'email', 'firstName', 'lastName', 'gender', 'image',
    ]);
    expect(zDummyjsonLoginResponse.parse(data)).toMatchObject(EMILYS);
    expect(data!.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256 bits, base64url
    expect(response.headers.get('cache-control')).toBe('no-store');

    const cookies = setCookies(response);
    const access = cookies.get('accessToken')!;
    const refresh = cookies.get('refreshToken')!;
    expect(access.value).toBe(data!.accessToken);
    expect(refresh.value).toBe(data!.refreshToken);
    for (const c of [access, refresh]) {
      expect(c.attrs).toMatchObject({ httponly: true, secure: true, samesite: 'Lax', path: '/' });
    }
    expect(access.attrs['max-age']).toBe(String(30 * 60));
    // The refresh cookie lives as long as the refresh token itself (30 days by default).
    expect(refresh.attrs['max-age']).toBe(String(t.config.refreshTokenTtlS));
  });

  it('issues an ES256 access token verifiable with the served JWKS, pinned to this dialect', async () => {
    const { data } = await login({ username: 'emilys', password: 'emilyspass' });
    const jwks = await getJwks({ client: t.client });
    const header = decodeProtectedHeader(data!.accessToken);
    expect(header).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(jwks.data!.keys.map((k) => k.kid)).toContain(header.kid);
    const { payload } = await jwtVerify(data!.accessToken, createLocalJWKSet(jwks.data as never), {
      algorithms: ['ES256'],
      issuer: 'http://gatehouse.test',
      audience: 'gatehouse:dummyjson',
      currentDate: new Date(t.clock.now()),
    });
    expect(payload).toMatchObject({ sub: '1', id: 1, username: 'emilys', email: 'emily.johnson@x.dummyjson.com' });
    expect(payload.exp! - payload.iat!).toBe(3600); // expiresInMins defaults to 60
    // Nothing secret in the claims.
    const text = JSON.stringify(payload).toLowerCase();
    for (const secret of ['password', 'hash', 'secret', 'emilyspass', data!.refreshToken.toLowerCase()]) {
      expect(text).not.toContain(secret);
    }
  });

  it('accepts a form body, with expiresInMins as a decimal string', async () => {
    const { data, response } = await login(
      { username: 'michaelw', password: 'michaelwpass', expiresInMins: '1.5' },
      { headers: FORM, bodySerializer: formBody },
    );
    expect(response.status).toBe(200);
    expect(data!.username).toBe('michaelw');
    expect(setCookies(response).get('accessToken')!.attrs['max-age']).toBe('90');
  });

  it('matches the username case-insensitively', async () => {
    const { data, response } = await login({ username: 'EmilyS', password: 'emilyspass' });
    expect(response.status).toBe(200);
    expect(data!.username).toBe('emilys');
  });

  it.each([
    ['no username', { password: 'emilyspass' }],
    ['no password', { username: 'emilys' }],
    ['an empty username', { username: '', password: 'emilyspass' }],
    ['an empty password', { username: 'emilys', password: '' }],
    ['a number as password', { username: 'emilys', password: 12345 }],
    ['a null username', { username: null, password: 'x' }],
    ['an array body', [{ username: 'emilys', password: 'emilyspass' }]],
  ])('answers 400 "Username and password required" for %s', async (_name, body) => {
    const { error, response } = await login(body);
    expect(response.status).toBe(400);
    expect(zDummyjsonError.parse(error)).toEqual({ message: 'Username and password required' });
  });

  it('answers 400 "Username and password required" for a request with no body at all', async () => {
    const response = await fetch(`${t.url}/auth/login`, { method: 'POST' });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ message: 'Username and password required' });
    // Nor is an empty body with a Content-Type that is neither JSON nor a form a 415 (fetch
    // with body: '' sends text/plain): the credentials are missing all the same.
    const empty = await fetch(`${t.url}/auth/login`, { method: 'POST', body: '' });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toEqual({ message: 'Username and password required' });
  });

  it('answers unknown user and wrong password with the same status and bytes', async () => {
    const wrong = await login({ username: 'emilys', password: 'not-her-password' });
    const unknown = await login({ username: 'nobody-here', password: 'not-her-password' });
    expect(wrong.response.status).toBe(400);
    expect(unknown.response.status).toBe(400);
    expect(wrong.error).toEqual({ message: 'Invalid credentials' });
    expect(JSON.stringify(unknown.error)).toBe(JSON.stringify(wrong.error));
    expect(wrong.response.headers.getSetCookie()).toEqual([]);
  });

  it.each([
    ['0', { expiresInMins: 0 }],
    ['43201', { expiresInMins: 43201 }],
    ['a negative number', { expiresInMins: -5 }],
    ['a string in JSON', { expiresInMins: 'soon' }],
  ])('answers 400 for expiresInMins %s (the original answers 500)', async (_name, extra) => {
    const { error, response } = await login({ username: 'emilys', password: 'emilyspass', ...extra });
    expect(response.status).toBe(400);
    expect(error).toEqual({ message: 'expiresInMins must be a number from 1 to 43200' });
  });

  it.each([['abc'], ['50000'], ['0.5']])('answers 400 for form expiresInMins %s', async (value) => {
    const { error, response } = await login(
      { username: 'emilys', password: 'emilyspass', expiresInMins: value },
      { headers: FORM, bodySerializer: formBody },
    );
    expect(response.status).toBe(400);
    expect(error).toEqual({ message: 'expiresInMins must be a number from 1 to 43200' });
  });

  it('answers 400 {message} for a NUL character, which PostgreSQL cannot store', async () => {
    const { error, response } = await login({ username: 'emi\u0000lys', password: 'emilyspass' });
    expect(response.status).toBe(400);
    expect(zDummyjsonError.parse(error).message).toBe('Username and password required');
    const form = await login({ username: 'emilys', password: 'a\u0000b' }, { headers: FORM, bodySerializer: formBody });
    expect(form.response.status).toBe(400);
  });

  it('answers 400 for malformed JSON', async () => {
    const { error, response } = await login({}, { bodySerializer: () => '{"username": "emilys", ' });
    expect(response.status).toBe(400);
    expect(error).toEqual({ message: 'Request body is not valid JSON' });
  });

  it('answers 413 for a body over the limit', async () => {
    const { error, response } = await login({ username: 'emilys', password: 'x'.repeat(100_000) });
    expect(response.status).toBe(413);
    expect(error).toEqual({ message: 'Request body is too large' });
  });

  it('answers 415 for a content type that is neither JSON nor a form', async () => {
    const { error, response } = await login(
      {},
      { headers: { 'Content-Type': 'text/plain' }, bodySerializer: () => 'username=emilys&password=emilyspass' },
    );
    expect(response.status).toBe(415);
    expect(error).toEqual({
      message: 'Unsupported Content-Type: send application/json or application/x-www-form-urlencoded',
    });
  });

  it('ignores unknown fields, as the original does', async () => {
    const { response } = await login({ username: 'emilys', password: 'emilyspass', remember: true });
    expect(response.status).toBe(200);
  });
});

