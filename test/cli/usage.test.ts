// The command line's help and its refusal of bad arguments (exit 2, one line and a hint),
// none of which opens a database; and the command line as a process of its own.
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliDatabase, gatehouse, gatehouseOnTerminal, gatehouseProcess, json } from './cli.js';

describe('gatehouse --help', () => {
  it('runs through the package bin with npx and lists every command', async () => {
    const child = spawn('npx', ['--no-install', 'gatehouse', '--help'], { env: { ...process.env, npm_config_loglevel: 'error' } });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: gatehouse <command> \[options\]/);
    for (const command of [
      'users create', 'users list', 'users deactivate', 'users activate', 'users delete',
      'clients create', 'clients list', 'clients set-permissions', 'api-users create', 'api-users delete',
      'sessions list', 'sessions revoke', 'sessions revoke-all', 'keys list', 'keys rotate', 'keys retire', 'purge',
    ]) {
      expect(stdout).toContain(`  ${command} `);
    }
  }, 60_000);

  it('has help for each group and each command, on stdout with exit 0', async () => {
    const group = await gatehouse(['keys', '--help']);
    expect(group).toMatchObject({ code: 0, stderr: '' });
    expect(group.stdout).toMatch(/^Usage: gatehouse keys <command> \[options\]\n/);
    expect(group.stdout).toMatch(/\n {2}rotate {2}create a new signing key/);

    const command = await gatehouse(['users', 'create', '-h']);
    expect(command).toMatchObject({ code: 0, stderr: '' });
    expect(command.stdout).toMatch(/^Usage: gatehouse users create --username <name> --email <email>/);
    expect(command.stdout).toContain('--password-stdin');
    expect(command.stdout).toContain('--json');

    const purge = await gatehouse(['purge', '--help']);
    expect(purge.code).toBe(0);
    expect(purge.stdout).toContain('Keeps every\nunexpired refresh token of a live session');
  });
});

describe('bad arguments: exit 2, one line saying what, and where the help is', () => {
  it.each([
    [[], 'missing command', "'gatehouse --help'"],
    [['frobnicate'], 'unknown command "frobnicate"', "'gatehouse --help'"],
    [['users'], 'missing users command', "'gatehouse users --help'"],
    [['users', 'rename'], 'unknown command "users rename"', "'gatehouse users --help'"],
    [['users', 'list', '--bogus'], "Unknown option '--bogus'", "'gatehouse users list --help'"],
    [['sessions', 'revoke', '-x'], "Unknown option '-x'; an argument that starts with '-' goes after '--'", "'gatehouse sessions revoke --help'"],
    [['users', 'list', '--jsn'], "Unknown option '--jsn'", "'gatehouse users list --help'"],
    [['users', 'create', '--username', '-Eab3', '--email', 'a@b.c'], "Option '--username' argument is ambiguous; a value that starts with '-' is written --username=<value>", "'gatehouse users create --help'"],
    [['users', 'list', '--page'], "Option '--page <value>' argument missing", "'gatehouse users list --help'"],
    [['users', 'list', '--page', '0'], '--page must be a whole number from 1 to 1000000', "'gatehouse users list --help'"],
    [['users', 'delete'], 'missing <user>', "'gatehouse users delete --help'"],
    [['users', 'delete', 'a', 'b'], 'unexpected argument "b"', "'gatehouse users delete --help'"],
    [['users', 'create', '--email', 'a@b.c'], '--username is required', "'gatehouse users create --help'"],
    [['users', 'create', '--username', 'a', '--email', 'a@b.c', '--role', 'root'], '--role must be one of admin, moderator, user', "'gatehouse users create --help'"],
    [['users', 'create', '--username', 'a', '--email', 'a@b.c'], 'no password: pipe it with --password-stdin', "'gatehouse users create --help'"],
    [['clients', 'create'], 'at least one --permission is required', "'gatehouse clients create --help'"],
    [['clients', 'create', '--permission', 'all', '--grant', 'implicit'], '--grant must be one of client_credentials, password, refresh_token', "'gatehouse clients create --help'"],
    [['clients', 'set-permissions', 'x'], 'give --permission at least once, or --none', "'gatehouse clients set-permissions --help'"],
    [['keys', 'rotate', '--activate-in', 'soon'], '--activate-in must be a whole number from 0 to 2592000', "'gatehouse keys rotate --help'"],
    [['purge', '--keep-days', '3651'], '--keep-days must be a whole number from 0 to 3650', "'gatehouse purge --help'"],
    // "--json" as an option's value or after "--" is not the option: these refusals are not JSON.
    [['users', 'create', '--username', 'x', '--email', 'a@b.c', '--', '--json'], 'unexpected argument "--json"', "'gatehouse users create --help'"],
    [['users', 'create', '--username', '--json', '--email', 'a@b.c'], "Option '--username' argument is ambiguous", "'gatehouse users create --help'"],
  ])('%j', async (args, message, hint) => {
    const r = await gatehouse(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain(`gatehouse: ${message}`);
    expect(lines[1]).toBe(`Run ${hint} for usage.`);
  });

  it('with --json, the error is one JSON line on stderr', async () => {
    const r = await gatehouse(['users', 'list', '--json', '--page', 'x']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stderr)).toEqual({ error: 'usage', message: '--page must be a whole number from 1 to 1000000' });
    // Also when the arguments do not parse.
    const unknown = await gatehouse(['users', 'list', '--json', '--bogus']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stderr)).toEqual({ error: 'usage', message: "Unknown option '--bogus'" });
  });

  it('refuses --password-stdin when standard input is a terminal, where the password would echo', async () => {
    const args = ['users', 'create', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin'];
    const env = { DATABASE_URL: 'memory://' }; // if it went on, nothing on disk
    const message = '--password-stdin reads the password from a pipe or file, and standard input is a terminal: leave the option out to be asked for it without echo';
    expect(await gatehouseOnTerminal(args, env)).toEqual({
      code: 2,
      stdout: '',
      stderr: `gatehouse: ${message}\nRun 'gatehouse users create --help' for usage.\n`,
    });
    const json = await gatehouseOnTerminal([...args, '--json'], env);
    expect(json).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(json.stderr)).toEqual({ error: 'usage', message });
  }, 60_000); // two spawned processes

  it('refuses a bad configuration like the server does (exit 2, naming the variable)', async () => {
    const r = await gatehouse(['keys', 'list'], { KEY_ROTATION_DELAY_S: '5', DATABASE_URL: 'memory://' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('KEY_ROTATION_DELAY_S must be a whole number of seconds from 310');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });
});

// The other tests run commands in the test's process; this is what src/cli/bin.js adds.
describe('as a process (src/cli/bin.js)', () => {
  it('exits with the status of the command (0, 1, 2), having closed the database, and reads a password from a pipe', async () => {
    const db = await cliDatabase();
    try {
      const password = 'process piped passphrase';
      const created = await gatehouseProcess(['users', 'create', '--username', 'piped', '--email', 'piped@example.com', '--password-stdin', '--json'], db.env, `${password}\n`);
      expect(created).toMatchObject({ code: 0, stderr: '' });
      expect(json<{ user: { username: string } }>(created).user.username).toBe('piped');
      expect(created.stdout).not.toContain(password);
      if (db.env.DATA_DIR) await expect(access(join(db.env.DATA_DIR, 'gatehouse.pid'))).rejects.toThrow(/ENOENT/); // lock released
      // It ended on its own (no database connection, pool or lock heartbeat kept it up), and
      // what it wrote is there for the next command.
      expect(json(await gatehouse(['users', 'list', '--page-size', '1', '--json'], db.env))).toMatchObject({ total: 31 });
      expect(await gatehouseProcess(['users', 'delete', 'nobody'], db.env)).toEqual({ code: 1, stdout: '', stderr: 'gatehouse: no user "nobody"\n' });
      expect(await gatehouseProcess(['users', 'rename'], db.env)).toEqual({
        code: 2,
        stdout: '',
        stderr: `gatehouse: unknown command "users rename"\nRun 'gatehouse users --help' for usage.\n`,
      });
    } finally {
      await db.drop();
    }
  }, 120_000);
});
