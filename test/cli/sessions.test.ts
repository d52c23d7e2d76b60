// gatehouse sessions … and gatehouse purge: a user's sessions without token material, revoking
// one or all (refused on the server afterwards), and a purge that deletes what can no longer
// authenticate anyone while keeping what detects a stolen refresh token.
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cocartValidateToken, dummyjsonLogin, dummyjsonLogout, dummyjsonMe, dummyjsonRefresh } from '../../generated/client/sdk.gen.js';
import { cocartLoginAs, UA } from '../helpers/cocart.js';
import { bearer, loginAs } from '../helpers/dummyjson.js';
import { DEMO_CLIENT, oauthTokenFor } from '../helpers/oauth.js';
import { cliDatabase, gatehouse, json, withServer } from './cli.js';

let db: Awaited<ReturnType<typeof cliDatabase>>;
beforeAll(async () => {
  db = await cliDatabase();
});
afterAll(() => db.drop());

const cli = (args: string[]) => gatehouse(args, db.env);

interface SessionJson {
  id: string;
  audience: string;
  createdAt: string;
  expiresAt: string;
  revokedAt: string | null;
  revokedReason: string | null;
  userAgent: string | null;
  ip: string | null;
  clientId: string | null;
}

describe('gatehouse sessions', () => {
  it("lists a user's sessions without token material, and revokes one or all of them", async () => {
    const tokens = await withServer(db.env, async (t) => {
      const first = await loginAs(t.client, 'emilys');
      const second = await loginAs(t.client, 'emilys');
      const cocart = await cocartLoginAs(t.client, 'emilys');
      const oauth = await oauthTokenFor(t.client, { grant_type: 'password', username: 'emilys', password: 'emilyspass' });
      return {
        first,
        second,
        cocart: cocart.extras.jwt_token,
        secrets: [first.accessToken, first.refreshToken, second.refreshToken, cocart.extras.jwt_refresh, oauth.access_token, oauth.refresh_token!],
      };
    });

    const listed = await cli(['sessions', 'list', 'emilys', '--json']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const { user, sessions } = json<{ user: unknown; sessions: SessionJson[] }>(listed);
    expect(user).toEqual({ id: 1, username: 'emilys' });
    expect(sessions).toHaveLength(4);
    for (const s of sessions) {
      expect(Object.keys(s).sort()).toEqual(['audience', 'clientId', 'createdAt', 'expiresAt', 'id', 'ip', 'revokedAt', 'revokedReason', 'userAgent']);
      expect(s).toMatchObject({ revokedAt: null, ip: '127.0.0.1' });
    }
    expect(sessions.map((s) => [s.audience, s.clientId]).sort()).toEqual([
      ['gatehouse:cocart', null],
      ['gatehouse:dummyjson', null],
      ['gatehouse:dummyjson', null],
      ['gatehouse:oauth', DEMO_CLIENT.id],
    ]);
    expect(sessions.find((s) => s.audience === 'gatehouse:cocart')!.userAgent).toBe(UA);
    const text = await cli(['sessions', 'list', '1']);
    expect(text.stdout).toMatch(/^ID +AUDIENCE +CLIENT +STATE +CREATED +EXPIRES +IP +USER-AGENT\n/);
    expect(text.stdout).toMatch(new RegExp(`\\n[0-9a-f]{32} +gatehouse:oauth +${DEMO_CLIENT.id} +live `));
    expect(text.stdout.match(/ live /g)).toHaveLength(4);
    for (const secret of tokens.secrets) expect(listed.stdout + text.stdout).not.toContain(secret);

    // The first login's session, as its access token names it.
    const firstSession = sessions.find((s) => s.id === decodeJwt(tokens.first.accessToken).sid)!;
    expect(firstSession.audience).toBe('gatehouse:dummyjson');
    expect(json(await cli(['sessions', 'revoke', firstSession.id, '--json']))).toEqual({ revoked: [firstSession.id] });
    expect(await cli(['sessions', 'revoke', firstSession.id])).toMatchObject({ code: 1, stderr: `gatehouse: no live session "${firstSession.id}"\n` });
    // Ids are hex now; an older id that starts with "-" (they were base64url) is still an id,
    // pasted as it is or after "--", and options around it still count.
    for (const s of sessions) expect(s.id).toMatch(/^[0-9a-f]{32}$/);
    expect(await cli(['sessions', 'revoke', '-Eab3'])).toMatchObject({ code: 1, stderr: 'gatehouse: no live session "-Eab3"\n' });
    expect(await cli(['sessions', 'revoke', '--', '-Eab3'])).toMatchObject({ code: 1, stderr: 'gatehouse: no live session "-Eab3"\n' });
    expect(await cli(['sessions', 'revoke', '--json', '-Eab3'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^\{"error":"[a-z_]+","message":"no live session \\"-Eab3\\""\}\n$/),
    });
    expect(await cli(['sessions', 'list', 'nobody'])).toMatchObject({ code: 1, stderr: 'gatehouse: no user "nobody"\n' });

    await withServer(db.env, async (t) => {
      expect((await dummyjsonMe({ client: t.client, headers: bearer(tokens.first.accessToken) })).response.status).toBe(401);
      expect((await dummyjsonRefresh({ client: t.client, body: { refreshToken: tokens.first.refreshToken } })).response.status).toBe(403);
      expect((await dummyjsonMe({ client: t.client, headers: bearer(tokens.second.accessToken) })).response.status).toBe(200);
    });

    expect(json(await cli(['sessions', 'revoke-all', 'emilys', '--json']))).toEqual({ user: { id: 1, username: 'emilys' }, revoked: 3 });
    const after = json<{ sessions: SessionJson[] }>(await cli(['sessions', 'list', 'emilys', '--json'])).sessions;
    expect(after.map((s) => s.revokedReason)).toEqual(['admin', 'admin', 'admin', 'admin']);

    await withServer(db.env, async (t) => {
      expect((await dummyjsonMe({ client: t.client, headers: bearer(tokens.second.accessToken) })).response.status).toBe(401);
      const cocart = await cocartValidateToken({ client: t.client, headers: { ...bearer(tokens.cocart), 'User-Agent': UA } });
      expect(cocart.response.status).toBe(401);
      expect((await loginAs(t.client, 'emilys')).response.status).toBe(200); // revoking is not deactivating
    });
  }, 240_000);

  it('shows stored text with its control characters escaped: no forged row, no terminal escape sequence', async () => {
    // A username may hold ESC (the rule refuses only white space and @). A User-Agent header
    // may hold TAB and the bytes 0x80-0x9F, which Node reads as Latin-1, i.e. C1 controls:
    // U+009B is CSI to a terminal that takes 8-bit controls, U+0085 a line break to some.
    // The right-to-left override and the backslash: what a terminal shows must not be
    // reordered, nor a literal "\u0007" look like the BEL the name also holds.
    const username = 'mallory\u001b[2J\u001b]0;owned\u0007\u202e\\u0007';
    const shown = 'mallory\\u001b[2J\\u001b]0;owned\\u0007\\u202e\\\\u0007';
    const password = 'mallory controls passphrase 7';
    const userAgent = 'probe/1.0\t\u009b2J\u0085forged row';
    const created = await gatehouse(['users', 'create', '--username', username, '--email', 'mallory@example.test', '--password-stdin'], db.env, password);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    expect(created.stdout).toMatch(/^created user \d+ /);
    expect(created.stdout.replace(/^created user \d+ /, '')).toBe(`${shown} (user)\n`);
    await withServer(db.env, async (t) => {
      const login = await dummyjsonLogin({ client: t.client, body: { username, password }, headers: { 'User-Agent': userAgent } });
      expect(login.response.status).toBe(200);
    });

    const listed = await cli(['sessions', 'list', username]);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    expect(listed.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/); // line feeds only, between rows
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(/ live .* probe\/1\.0\\u0009\\u009b2J\\u0085forged row$/);
    // --json keeps the stored value as it is.
    expect(json<{ sessions: SessionJson[] }>(await cli(['sessions', 'list', username, '--json'])).sessions[0]!.userAgent).toBe(userAgent);

    expect(await cli(['sessions', 'revoke-all', username])).toMatchObject({
      code: 0,
      stdout: `revoked 1 session of ${shown}\n`,
    });
    const users = await cli(['users', 'list', '--page-size', '1000']);
    expect(users.stdout.split('\n').find((line) => line.includes('mallory@example.test'))).toMatch(/^\d+ +(\S+) +mallory@example\.test +user +active /);
    expect(users.stdout).toContain(` ${shown} `);
    expect(users.stdout).not.toMatch(/[\u001b\u202e]/);
  }, 240_000);
});

describe('gatehouse purge', () => {
  it('deletes ended sessions (or keeps them --keep-days for audit) and expired refresh tokens, keeps rotated ones that detect a replay', async () => {
    const env = { ...db.env, SESSION_MAX_AGE_S: '3600', REFRESH_TOKEN_TTL_S: '600', REFRESH_REUSE_GRACE_S: '0' };
    const kept = await withServer(env, async (t) => {
      // The server's clock is moved back, so that these are over by the time purge runs.
      t.clock.advance(-7200);
      await loginAs(t.client, 'emmaj'); // a session that expired an hour ago
      t.clock.advance(6000);
      const live = await loginAs(t.client, 'jamesd'); // live session, refresh token expired 10 minutes ago
      t.clock.advance(1200);
      const rotated = await loginAs(t.client, 'sophiab');
      const next = (await dummyjsonRefresh({ client: t.client, body: { refreshToken: rotated.refreshToken } })).data!;
      const revoked = await loginAs(t.client, 'michaelw');
      expect((await dummyjsonLogout({ client: t.client, headers: bearer(revoked.accessToken) })).response.status).toBe(200);
      return { live: live.accessToken, used: rotated.refreshToken, current: next.refreshToken };
    });

    // Kept for a day after they ended: every session stays listed, only expired refresh tokens
    // go (emmaj's and jamesd's; emmaj's session, expired an hour ago, stays).
    const audited = await cli(['purge', '--keep-days', '1', '--json']);
    expect(audited).toMatchObject({ code: 0, stderr: '' });
    expect(json(audited)).toEqual({ expiredSessions: 0, revokedSessions: 0, expiredRefreshTokens: 2, retiredKeys: 0 });
    const stillListed = json<{ sessions: SessionJson[] }>(await cli(['sessions', 'list', 'michaelw', '--json'])).sessions;
    expect(stillListed).toHaveLength(1);
    expect(stillListed[0]).toMatchObject({ revokedReason: 'logout' });
    expect(json<{ sessions: SessionJson[] }>(await cli(['sessions', 'list', 'emmaj', '--json'])).sessions).toHaveLength(1);

    const purged = await cli(['purge', '--json']);
    expect(purged).toMatchObject({ code: 0, stderr: '' });
    // emilys's four sessions from the test above were revoked too, if it ran first.
    const counts = json<Record<string, number>>(purged);
    expect(Object.keys(counts).sort()).toEqual(['expiredRefreshTokens', 'expiredSessions', 'retiredKeys', 'revokedSessions']);
    expect(counts).toMatchObject({ expiredSessions: 1, expiredRefreshTokens: 0, retiredKeys: 0 });
    expect(json<{ sessions: SessionJson[] }>(await cli(['sessions', 'list', 'michaelw', '--json'])).sessions).toEqual([]);
    expect(counts.revokedSessions).toBeGreaterThanOrEqual(1);
    const again = await cli(['purge']);
    expect(again.stdout).toBe(
      'expired sessions deleted:       0\nrevoked sessions deleted:       0\nexpired refresh tokens deleted: 0\nretired keys deleted:           0\n',
    );

    await withServer(env, async (t) => {
      // A live session whose refresh token row was purged still authenticates.
      expect((await dummyjsonMe({ client: t.client, headers: bearer(kept.live) })).response.status).toBe(200);
      // The rotated token was kept: presenting it again is still a replay that revokes the session.
      expect((await dummyjsonRefresh({ client: t.client, body: { refreshToken: kept.used } })).response.status).toBe(403);
      expect((await dummyjsonRefresh({ client: t.client, body: { refreshToken: kept.current } })).response.status).toBe(403);
    });
  }, 240_000);
});
