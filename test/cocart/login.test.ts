// POST /wp-json/cocart/v2/login — Basic, JSON and form credentials; username, email or phone;
// CoCart's body and claim layout; every error status.
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cocartLogin, getJwks } from '../../generated/client/sdk.gen.js';
import { zCocartError, zCocartLoginResponse } from '../../generated/client/zod.gen.js';
import { basic, cocartError, UA } from '../helpers/cocart.js';
import { FORM, formBody, startTestServer, type TestServer } from '../helpers/gatehouse.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

type Init = { headers?: Record<string, string>; bodySerializer?: (b: unknown) => string };
const login = (body: unknown, init: Init = {}) =>
  cocartLogin({ client: t.client, body: body as never, ...init, headers: { 'User-Agent': UA, ...init.headers } });

const AUTH_FAILED = cocartError(401, 'cocart_authentication_error', 'Authentication failed.');

describe('POST /wp-json/cocart/v2/login', () => {
  it('logs in with a JSON body: the original body shape, user_id as a string', async () => {
    const { data, response } = await login({ username: 'emilys', password: 'emilyspass' });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = zCocartLoginResponse.parse(data);
    expect(Object.keys(data!)).toEqual([
      'user_id', 'first_name', 'last_name', 'display_name', 'role', 'avatar_urls', 'email', 'extras', 'dev_note',
    ]);
    expect(body).toMatchObject({
      user_id: '1',
      first_name: 'Emily',
      last_name: 'Johnson',
      display_name: 'emilys',
      role: 'Admin',
      avatar_urls: {
        '24': 'https://dummyjson.com/icon/emilys/24',
        '48': 'https://dummyjson.com/icon/emilys/48',
        '96': 'https://dummyjson.com/icon/emilys/96',
      },
      email: 'emily.johnson@x.dummyjson.com',
      dev_note: "Don't forget to store the users login information in order to authenticate all other routes with CoCart.",
    });
    expect(body.extras.jwt_refresh).toMatch(/^[0-9a-f]{128}$/);
  });

  it("keeps CoCart's claim layout, signed ES256 with the served keys, with no secret in it", async () => {
    const { data } = await login({ username: 'michaelw', password: 'michaelwpass' });
    const token = data!.extras.jwt_token;
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    const jwks = (await getJwks({ client: t.client })).data!;
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks as never), {
      algorithms: ['ES256'],
      issuer: 'http://gatehouse.test',
      audience: 'gatehouse:cocart',
      currentDate: new Date(t.clock.now()),
    });
    expect(payload).toMatchObject({
      iss: 'http://gatehouse.test',
      data: { user: { id: 2, username: 'michaelw', ip: expect.stringMatching(/127\.0\.0\.1/), device: UA } },
    });
    const pat = (payload.data as { user: { pat: string } }).user.pat;
    expect(pat).toBe(payload.sid);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp! - payload.iat!).toBe(864_000); // 10 days by default
    const text = JSON.stringify(payload).toLowerCase();
    for (const secret of ['secret', 'password', 'hash', data!.extras.jwt_refresh]) expect(text).not.toContain(secret);
  });

  it('takes the lifetime from COCART_ACCESS_TOKEN_TTL_S', async () => {
    const short = await startTestServer({ COCART_ACCESS_TOKEN_TTL_S: '600' });
    try {
      const { data } = await cocartLogin({ client: short.client, body: { username: 'emilys', password: 'emilyspass' } });
      const [, payload] = data!.extras.jwt_token.split('.');
      const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString());
      expect(claims.exp - claims.iat).toBe(600);
    } finally {
      await short.close();
    }
  });

  it('logs in with Authorization: Basic and no body', async () => {
    const { data, response } = await cocartLogin({
      client: t.client,
      headers: { Authorization: basic('sophiab', 'sophiabpass'), 'User-Agent': UA },
    });
    expect(response.status).toBe(200);
    expect(data!.display_name).toBe('sophiab');
    expect(data!.role).toBe('Moderator');
  });

  it('logs in with a form body', async () => {
    const { data, response } = await login(
      { username: 'jamesd', password: 'jamesdpass' },
      { headers: FORM, bodySerializer: formBody },
    );
    expect(response.status).toBe(200);
    expect(data!.user_id).toBe('4');
  });

  it.each([
    ['the email address', 'Emily.Johnson@x.dummyjson.com'],
    ['the phone number as stored', '+81 965-431-3024'],
    ['the phone number as digits', '819654313024'],
  ])('accepts %s as the username', async (_name, username) => {
    const { data, response } = await login({ username, password: 'emilyspass' });
    expect(response.status).toBe(200);
    expect(data!.user_id).toBe('1');
  });

  it('answers unknown user and wrong password with the same 401 bytes', async () => {
    const wrong = await login({ username: 'emilys', password: 'nope-nope' });
    const unknown = await login({ username: 'no-such-user@example.com', password: 'nope-nope' });
    expect(wrong.response.status).toBe(401);
    expect(unknown.response.status).toBe(401);
    expect(zCocartError.parse(wrong.error)).toEqual(AUTH_FAILED);
    expect(JSON.stringify(unknown.error)).toBe(JSON.stringify(wrong.error));
  });

  it.each([
    ['a wrong password', basic('emilys', 'wrong')],
    ['no colon', `Basic ${Buffer.from('emilys').toString('base64')}`],
    ['not base64', 'Basic %%%not-base64%%%'],
    ['an empty value', 'Basic '],
  ])('answers 401 for a Basic header with %s, never a crash', async (_name, header) => {
    const { error, response } = await cocartLogin({ client: t.client, headers: { Authorization: header } });
    expect(response.status).toBe(401);
    expect(error).toEqual(AUTH_FAILED);
  });

  it('ignores a stale Bearer header and uses the body', async () => {
    const { response } = await login({ username: 'emilys', password: 'emilyspass' }, { headers: { Authorization: 'Bearer stale' } });
    expect(response.status).toBe(200);
  });

  it.each([
    ['no credentials at all', undefined, 'Missing parameter(s): username, password'],
    ['no password', { username: 'emilys' }, 'Missing parameter(s): password'],
    ['an empty username', { username: '', password: 'x' }, 'Missing parameter(s): username'],
  ])('answers 400 rest_missing_callback_param for %s', async (_name, body, message) => {
    const { error, response } = await login(body);
    expect(response.status).toBe(400);
    expect(error).toEqual(cocartError(400, 'rest_missing_callback_param', message));
  });

  it('answers 400 rest_invalid_param for a parameter of the wrong type', async () => {
    const { error, response } = await login({ username: 'emilys', password: 12345 });
    expect(response.status).toBe(400);
    expect(error).toEqual(cocartError(400, 'rest_invalid_param', 'Invalid parameter(s): password'));
  });

  it('answers 400 rest_invalid_param for a NUL character, and 401 for one inside a Basic header', async () => {
    const json = await login({ username: 'emi\u0000lys', password: 'emilyspass' });
    expect(json.response.status).toBe(400);
    expect(json.error).toEqual(cocartError(400, 'rest_invalid_param', 'Invalid parameter(s): username'));
    const header = await cocartLogin({ client: t.client, headers: { Authorization: basic('emi\u0000lys', 'emilyspass') } });
    expect(header.response.status).toBe(401);
    expect(header.error).toEqual(AUTH_FAILED);
  });

  it('answers 400 rest_invalid_json for malformed JSON', async () => {
    const { error, response } = await login({}, { bodySerializer: () => '{"username":' });
    expect(response.status).toBe(400);
    expect(error).toEqual(cocartError(400, 'rest_invalid_json', 'Invalid JSON body passed.'));
  });

  it('answers 413 and 415 in the CoCart format', async () => {
    const huge = await login({ username: 'emilys', password: 'x'.repeat(100_000) });
    expect(huge.response.status).toBe(413);
    expect(huge.error).toEqual(cocartError(413, 'rest_payload_too_large', 'Request body is too large.'));
    const text = await login({}, { headers: { 'Content-Type': 'text/plain' }, bodySerializer: () => 'emilys' });
    expect(text.response.status).toBe(415);
    expect(zCocartError.parse(text.error)).toMatchObject({ code: 'rest_unsupported_media_type', data: { status: 415 } });
  });

  it('answers 404 and 405 in the CoCart format', async () => {
    const missing = await fetch(`${t.url}/wp-json/cocart/v2/nothing-here`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual(
      cocartError(404, 'rest_no_route', 'No route was found matching the URL and request method.'),
    );
    const wrong = await fetch(`${t.url}/wp-json/cocart/v2/login`, { method: 'GET' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect(await wrong.json()).toEqual(cocartError(405, 'rest_no_route', 'No route was found matching the URL and request method.'));
  });
});

