// `npx gatehouse <command>`: the admin command line. Same configuration (environment
// variables, src/config.ts) and database as the server; every command calls core.
import { AdminError } from '../core/admin-errors.js';
import { GatehouseError } from '../core/errors.js';
import { ConfigError, loadConfig } from '../config.js';
import { KeyEncryptionError } from '../core/key-encryption.js';
import { createServices, type Services } from '../services.js';
import { DataDirLockedError } from '../store/data-dir-lock.js';
import { apiUsers, clients } from './clients.js';
import {
  asksForJson,
  commandHelp,
  escapeControls,
  EXIT_FAILED,
  EXIT_OK,
  EXIT_USAGE,
  groupHelp,
  OperationFailed,
  parse,
  UsageError,
  type Command,
  type Context,
  type Group,
} from './command.js';
import { keys } from './keys.js';
import { purge } from './purge.js';
import { sessions } from './sessions.js';
import { users } from './users.js';

const ENTRIES: Array<Group | Command> = [users, clients, apiUsers, sessions, keys, purge];

const isGroup = (e: Group | Command): e is Group => 'commands' in e;

function programHelp(): string {
  const lines: Array<[string, string]> = [];
  for (const e of ENTRIES) {
    if (isGroup(e)) for (const c of e.commands) lines.push([`${e.name} ${c.name}`, c.summary]);
    else lines.push([e.name, e.summary]);
  }
  const width = Math.max(...lines.map(([a]) => a.length));
  return `Usage: gatehouse <command> [options]

Administers a Gatehouse database: the one the server with the same environment uses
(DATABASE_URL, or the embedded database in DATA_DIR, which must not be open in a running
server at the same time).

Commands:
${lines.map(([a, b]) => `  ${a.padEnd(width)}  ${b}`).join('\n')}

Every command takes --help, and --json to print its result as JSON.
Exit status: 0 done, 1 the operation failed, 2 bad arguments.
`;
}

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadStream;
  env: Record<string, string | undefined>;
}

/** A stable name for each kind of failure, for --json error output. */
function failureCode(err: unknown): string {
  if (err instanceof UsageError) return 'usage';
  if (err instanceof ConfigError) return 'configuration';
  if (err instanceof KeyEncryptionError) return err.code;
  if (err instanceof AdminError || err instanceof GatehouseError) return err.code;
  if (err instanceof DataDirLockedError) return 'database_in_use';
  if (err instanceof OperationFailed) return 'failed';
  return 'internal';
}

/** Runs one command line; returns the exit status. Never prints a stack trace or a secret. */
export async function run(argv: string[], io: Io): Promise<number> {
  let services: Services | undefined;
  const ctx: Context = {
    // Set from the arguments as parsed, once it is known which command reads them.
    json: false,
    stdin: io.stdin,
    stderr: io.stderr,
    async services() {
      // Unless DATABASE_TIMEOUT_MS is set, an operator's command waits for the database as
      // long as it takes: a purge of a large table may run longer than any request should.
      services ??= await createServices(loadConfig({ ...io.env, DATABASE_TIMEOUT_MS: io.env.DATABASE_TIMEOUT_MS || '0' }));
      return services;
    },
    print(text, data) {
      io.stdout.write(ctx.json ? `${JSON.stringify(data, null, 2)}\n` : `${text}\n`);
    },
    warn(message) {
      io.stderr.write(`${message}\n`);
    },
  };
  try {
    await dispatch(argv, ctx, io);
    return EXIT_OK;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (ctx.json) io.stderr.write(`${JSON.stringify({ error: failureCode(err), message })}\n`);
    else io.stderr.write(`gatehouse: ${escapeControls(message)}\n`); // one line, whatever it quotes
    if (err instanceof UsageError) {
      if (!ctx.json) io.stderr.write(`Run 'gatehouse ${err.command ? `${err.command} ` : ''}--help' for usage.\n`);
      return EXIT_USAGE;
    }
    return err instanceof ConfigError || err instanceof KeyEncryptionError ? EXIT_USAGE : EXIT_FAILED;
  } finally {
    await services?.close().catch(() => undefined);
  }
}

async function dispatch(argv: string[], ctx: Context, io: Io): Promise<void> {
  ctx.json = asksForJson(argv);
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError('missing command');
  if (first === '--help' || first === '-h' || first === 'help') {
    io.stdout.write(programHelp());
    return;
  }
  const entry = ENTRIES.find((e) => e.name === first);
  if (!entry) throw new UsageError(`unknown command ${JSON.stringify(first)}`);
  if (!isGroup(entry)) return runCommand(entry.name, entry, rest, ctx, io);
  const [name, ...args] = rest;
  if (name === undefined) throw new UsageError(`missing ${entry.name} command`, entry.name);
  if (name === '--help' || name === '-h') {
    io.stdout.write(groupHelp(entry));
    return;
  }
  const command = entry.commands.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(`${entry.name} ${name}`)}`, entry.name);
  return runCommand(`${entry.name} ${command.name}`, command, args, ctx, io);
}

async function runCommand(path: string, command: Command, args: string[], ctx: Context, io: Io): Promise<void> {
  ctx.json = asksForJson(args, command.options);
  const parsed = parse(path, command, args);
  if (!parsed) {
    io.stdout.write(commandHelp(path, command));
    return;
  }
  await command.run(ctx, parsed.values, parsed.positionals);
}
