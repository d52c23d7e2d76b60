// gatehouse users …: what the command line does shows through HTTP on a server started on the
// same data: a created user logs in, a deactivated one is refused with every token of theirs,
// a reactivated one logs in again (old tokens stay dead), a deleted one is gone.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dummyjsonLogin, dummyjsonMe } from '../../generated/client/sdk.gen.js';
import { bearer } from '../helpers/dummyjson.js';
import { startTestServer } from '../helpers/gatehouse.js';
import { cliDatabase, gatehouse, gatehouseProcess, json, withServer } from './cli.js';

const PASSWORD = 'correct horse battery staple';
let db: Awaited<ReturnType<typeof cliDatabase>>;
beforeAll(async () => {
  db = await cliDatabase();
});
afterAll(() => db.drop());

const cli = (args: string[], input = '') => gatehouse(args, db.env, input);

const USER_KEYS = ['active', 'createdAt', 'email', 'firstName', 'id', 'lastName', 'role', 'updatedAt', 'username'];

describe('gatehouse users', () => {
  it('creates, lists, deactivates, activates and deletes users, with effect on the server', async () => {
    const created = await cli(
      ['users', 'create', '--username', 'alice', '--email', 'alice@example.com', '--role', 'admin', '--first-name', 'Alice', '--password-stdin', '--json'],
      `${PASSWORD}\n`,
    );
    expect(created.code).toBe(0);
    expect(created.stderr).toBe('');
    const { user } = json<{ user: Record<string, unknown> }>(created);
    expect(Object.keys(user).sort()).toEqual(USER_KEYS);
    expect(user).toMatchObject({ username: 'alice', email: 'alice@example.com', role: 'admin', firstName: 'Alice', lastName: '', active: true });
    expect(created.stdout).not.toContain(PASSWORD);
    expect(created.stdout).not.toContain('argon2');

    const text = await cli(['users', 'create', '--username', 'bob', '--email', 'bob@example.com', '--password-stdin'], 'bobs long password');
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^created user \d+ bob \(user\)\n$/);

    // Failures of the operation: exit 1, one line, no secret.
    const taken = await cli(['users', 'create', '--username', 'ALICE', '--email', 'other@example.com', '--password-stdin'], PASSWORD);
    expect(taken).toMatchObject({ code: 1, stdout: '', stderr: 'gatehouse: a user with this username or email already exists\n' });
    const weak = await cli(['users', 'create', '--username', 'carol', '--email', 'carol@example.com', '--password-stdin', '--json'], 'carol');
    expect(weak.code).toBe(1);
    expect(JSON.parse(weak.stderr)).toEqual({ error: 'weak_password', message: 'Password must be at least 8 characters' });
    const badEmail = await cli(['users', 'create', '--username', 'dave', '--email', 'dave', '--password-stdin'], PASSWORD);
    expect(badEmail).toMatchObject({ code: 1, stderr: 'gatehouse: not an email address: "dave"\n' });
    for (const command of ['deactivate', 'activate', 'delete']) {
      expect(await cli(['users', command, 'nobody'])).toMatchObject({ code: 1, stdout: '', stderr: 'gatehouse: no user "nobody"\n' });
    }

    const aliceToken = await withServer(db.env, async (t) => {
      const login = await dummyjsonLogin({ client: t.client, body: { username: 'alice', password: PASSWORD } });
      expect(login.response.status).toBe(200);
      expect(login.data).toMatchObject({ username: 'alice', email: 'alice@example.com', firstName: 'Alice' });
      return login.data!.accessToken;
    });

    const deactivated = await cli(['users', 'deactivate', 'alice', '--json']);
    expect(deactivated.code).toBe(0);
    expect(json<{ user: { active: boolean } }>(deactivated).user.active).toBe(false);
    const page = json<{ users: Array<{ id: number; username: string; active: boolean }>; page: number; pageSize: number; total: number }>(
      await cli(['users', 'list', '--page', '2', '--page-size', '30', '--json']),
    );
    // 30 demo users, then alice and bob.
    expect(page).toMatchObject({ page: 2, pageSize: 30, total: 32 });
    expect(page.users.map((u) => [u.username, u.active])).toEqual([
      ['alice', false],
      ['bob', true],
    ]);
    const listed = await cli(['users', 'list', '--page-size', '2']);
    expect(listed.stdout).toMatch(/^ID +USERNAME +EMAIL +ROLE +STATUS +CREATED\n1 +emilys +emily\.johnson@x\.dummyjson\.com +admin +active/);
    expect(listed.stdout).toMatch(/\npage 1 of 16, 32 users\n$/);

    await withServer(db.env, async (t) => {
      expect((await dummyjsonMe({ client: t.client, headers: bearer(aliceToken) })).response.status).toBe(401);
      expect((await dummyjsonLogin({ client: t.client, body: { username: 'alice', password: PASSWORD } })).response.status).toBe(400);
    });

    expect((await cli(['users', 'activate', 'alice'])).stdout).toMatch(/^activated user \d+ alice\n$/);
    // By id as well as by username.
    const bobId = page.users[1]!.id;
    const deleted = await cli(['users', 'delete', String(bobId), '--json']);
    expect(json(deleted)).toEqual({ deleted: { id: bobId, username: 'bob' } });

    await withServer(db.env, async (t) => {
      expect((await dummyjsonLogin({ client: t.client, body: { username: 'alice', password: PASSWORD } })).response.status).toBe(200);
      expect((await dummyjsonMe({ client: t.client, headers: bearer(aliceToken) })).response.status).toBe(401); // stays dead
      expect((await dummyjsonLogin({ client: t.client, body: { username: 'bob', password: 'bobs long password' } })).response.status).toBe(400);
    });
  }, 240_000);

  it("refuses a <user> that is one user's username and another's id, rather than act on either", async () => {
    // Anyone may register the username "3"; an operator naming user 3 must not reach that account.
    const created = await cli(['users', 'create', '--username', '3', '--email', 'three@example.com', '--password-stdin', '--json'], PASSWORD);
    expect(created).toMatchObject({ code: 0, stderr: '' });
    const squatter = json<{ user: { id: number } }>(created).user.id;
    const message = `"3" is the name of user ${squatter} and the id of user 3 ("sophiab"): name user ${squatter} by id, or user 3 by name`;
    for (const args of [['users', 'deactivate', '3'], ['users', 'delete', '3'], ['sessions', 'revoke-all', '3'], ['sessions', 'list', '3']]) {
      expect(await cli(args), args.join(' ')).toEqual({ code: 1, stdout: '', stderr: `gatehouse: ${message}\n` });
    }
    const refused = await cli(['users', 'deactivate', '3', '--json']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(JSON.parse(refused.stderr)).toEqual({ error: 'conflict', message });
    // Neither was touched; each is reached by its other name.
    const states = async () =>
      json<{ users: Array<{ id: number; active: boolean }> }>(await cli(['users', 'list', '--page-size', '1000', '--json'])).users.filter((u) => u.id === 3 || u.id === squatter);
    expect(await states()).toEqual([{ id: 3, active: true }, { id: squatter, active: true }].map((u) => expect.objectContaining(u)));
    expect(json(await cli(['users', 'deactivate', String(squatter), '--json']))).toMatchObject({ user: { id: squatter, username: '3', active: false } });
    expect(json(await cli(['sessions', 'list', 'sophiab', '--json']))).toMatchObject({ user: { id: 3, username: 'sophiab' } });
    expect(await states()).toEqual([{ id: 3, active: true }, { id: squatter, active: false }].map((u) => expect.objectContaining(u)));

    // Ids go up to INTEGER's largest, ten digits; a larger number can only be a username.
    await withServer(db.env, (t) => t.gatehouse.services.db.exec('ALTER TABLE users ALTER COLUMN id RESTART WITH 2147483640'));
    const high = json<{ user: { id: number } }>(await cli(['users', 'create', '--username', 'high', '--email', 'high@example.com', '--password-stdin', '--json'], PASSWORD)).user.id;
    expect(high).toBe(2147483640);
    const tenDigits = json<{ user: { id: number } }>(
      await cli(['users', 'create', '--username', String(high), '--email', 'ten@example.com', '--password-stdin', '--json'], PASSWORD),
    ).user.id;
    expect(await cli(['sessions', 'revoke-all', String(high)])).toEqual({
      code: 1,
      stdout: '',
      stderr: `gatehouse: "${high}" is the name of user ${tenDigits} and the id of user ${high} ("high"): name user ${tenDigits} by id, or user ${high} by name\n`,
    });
    for (const beyond of ['2147483648', '99999999999', '0']) {
      expect(await cli(['users', 'delete', beyond]), beyond).toEqual({ code: 1, stdout: '', stderr: `gatehouse: no user "${beyond}"\n` });
    }
  }, 120_000);
});

// The lock is between processes: these commands run in processes of their own.
describe.skipIf(!!process.env.TEST_DATABASE_URL)('the embedded database', () => {
  const cliProcess = (args: string[]) => gatehouseProcess(args, db.env);

  it('is refused (exit 1, with advice) while a server holds the same DATA_DIR', async () => {
    const t = await startTestServer(db.env);
    try {
      const r = await cliProcess(['users', 'list']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(
        `gatehouse: the embedded database in ${db.env.DATA_DIR} is in use by process ${process.pid} (a running Gatehouse server?); ` +
          'stop it first, or run the server and this command on a PostgreSQL server with DATABASE_URL=postgres://…\n',
      );
    } finally {
      await t.close();
    }
    expect((await cliProcess(['users', 'list', '--page-size', '1'])).code).toBe(0);
  }, 120_000);

  it('takes over a lock left by a process that is gone, also when its pid was reused by this one', async () => {
    const lock = join(db.env.DATA_DIR!, 'gatehouse.pid');
    await writeFile(lock, '999999999 1700000000000\n'); // no such process
    expect((await cliProcess(['users', 'list', '--page-size', '1'])).code).toBe(0);
    // A container restarted on the same volume: the last server was pid 1 too, started earlier.
    await writeFile(lock, `${process.pid} 1700000000000\n`);
    const t = await startTestServer(db.env);
    try {
      expect((await readFile(lock, 'utf8')).split(' ')[0]).toBe(String(process.pid));
      expect((await cliProcess(['users', 'list'])).code).toBe(1); // now really held
    } finally {
      await t.close();
    }
    await expect(readFile(lock, 'utf8')).rejects.toThrow(/ENOENT/); // released on close
  }, 120_000);
});
