// The admin command line's plumbing: command definitions, argument parsing (node:util
// parseArgs), help text, output (text or --json), and the two kinds of failure with their
// exit codes. Commands only call core; nothing here knows SQL or business rules.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
import type { Services } from '../services.js';

export const EXIT_OK = 0;
/** The operation failed: not found, conflict, weak password, database in use... */
export const EXIT_FAILED = 1;
/** Bad arguments: unknown command or option, missing or malformed value. */
export const EXIT_USAGE = 2;

/** Bad arguments; exit 2 with a hint to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose help the hint points to, e.g. "users create". */
    readonly command = '',
  ) {
    super(message);
  }
}

/** An operation that could not be done (nothing to act on, mistyped confirmation...); exit 1. */
export class OperationFailed extends Error {
  override readonly name = 'OperationFailed';
}

export interface Context {
  /** The server's services on the configured database, opened on first use. */
  services(): Promise<Services>;
  json: boolean;
  /** Writes one result: `text` for people, `data` as JSON with --json. */
  print(text: string, data: unknown): void;
  /** A notice for people on stderr (never with secrets). */
  warn(message: string): void;
  /** Standard input, for --password-stdin. */
  stdin: NodeJS.ReadStream;
  /** Standard error, where a password prompt goes. */
  stderr: NodeJS.WritableStream;
}

type Values = Record<string, string | boolean | string[] | undefined>;

export interface Command {
  name: string;
  summary: string;
  /** After "gatehouse <group> <name> ", e.g. "<user> [--json]". */
  usage: string;
  /** More lines of help: what it does, options, an example. */
  details: string;
  options?: ParseArgsOptionsConfig;
  /** Names of the positional arguments, all required. */
  positionals?: string[];
  run(ctx: Context, values: Values, positionals: string[]): Promise<void>;
}

export interface Group {
  name: string;
  summary: string;
  commands: Command[];
}

const COMMON: ParseArgsOptionsConfig = {
  help: { type: 'boolean', short: 'h' },
  json: { type: 'boolean' },
};

export function commandHelp(path: string, c: Command): string {
  return `Usage: gatehouse ${path} ${c.usage}\n\n${c.summary}\n\n${c.details.trim()}\n\n  --json      print the result as JSON (for scripts)\n  -h, --help  this help\n`;
}

export function groupHelp(g: Group): string {
  const width = Math.max(...g.commands.map((c) => c.name.length));
  const lines = g.commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: gatehouse ${g.name} <command> [options]\n\n${g.summary}\n\nCommands:\n${lines.join('\n')}\n\nRun 'gatehouse ${g.name} <command> --help' for a command's options.\n`;
}

/**
 * Moves every argument that cannot be an option after a "--", keeping their order, so that
 * an id pasted from a listing works as it is: key ids are RFC 7638 thumbprints in base64url,
 * and 1 in 64 starts with "-" ("-Gx3…"). Option-shaped arguments stay where they are, so a
 * mistyped "--jsn" or "-x" is still an unknown option; so does the value of a string option,
 * which parseArgs checks itself.
 */
function positionalsLast(args: string[], options: ParseArgsOptionsConfig): string[] {
  const shorts = new Map(Object.entries(options).flatMap(([name, o]) => (o.short ? [[o.short, name] as const] : [])));
  const takesValue = (name: string | undefined) => name !== undefined && options[name]?.type === 'string';
  const flags: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    const long = /^--([a-z][a-z0-9-]*)(=.*)?$/.exec(arg);
    const short = /^-([a-zA-Z])$/.exec(arg);
    const grouped = /^-[a-zA-Z]+$/.test(arg) && [...arg.slice(1)].every((ch) => shorts.has(ch));
    if (long || short || grouped) {
      flags.push(arg);
      const name = long ? (long[2] === undefined ? long[1] : undefined) : shorts.get(arg.slice(-1));
      if (takesValue(name) && i + 1 < args.length) flags.push(args[++i]!);
    } else {
      positionals.push(arg);
    }
  }
  return positionals.length > 0 ? [...flags, '--', ...positionals] : flags;
}

/**
 * Whether `args` ask for --json, read as parse() reads them with `options` (the command's; none
 * while no command is known): neither a value given to an option (`--username --json`) nor an
 * argument after "--" is the option. Lenient, so that arguments parse() refuses still get
 * their refusal in the format they asked for.
 */
export function asksForJson(args: string[], options: ParseArgsOptionsConfig = {}): boolean {
  const all = { ...COMMON, ...options };
  return parseArgs({ args: positionalsLast(args, all), options: all, allowPositionals: true, strict: false }).values.json === true;
}

/** Parses a command's arguments; throws UsageError. Returns undefined when --help was asked. */
export function parse(path: string, c: Command, args: string[]): { values: Values; positionals: string[] } | undefined {
  let parsed;
  try {
    const options = { ...COMMON, ...c.options };
    parsed = parseArgs({ args: positionalsLast(args, options), options, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's messages name the option. Its advice about "--" quotes the option as it parsed
    // it, so say it in our own words.
    let message = err instanceof Error ? err.message.split(/\.( To specify|\n)/)[0]! : String(err);
    if (/^Unknown option '-[^-]/.test(message)) message += "; an argument that starts with '-' goes after '--'";
    const ambiguous = /^Option '(--[a-z-]+)' argument is ambiguous/.exec(message);
    if (ambiguous) message += `; a value that starts with '-' is written ${ambiguous[1]}=<value>`;
    throw new UsageError(message, path);
  }
  if ((parsed.values as Values).help) return undefined;
  const expected = c.positionals ?? [];
  if (parsed.positionals.length < expected.length) {
    throw new UsageError(`missing ${expected.slice(parsed.positionals.length).map((p) => `<${p}>`).join(' ')}`, path);
  }
  if (parsed.positionals.length > expected.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[expected.length])}`, path);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

/** A whole number option within [min, max]; undefined when absent. */
export function intOption(values: Values, name: string, min: number, max: number, path: string): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`, path);
  }
  return Number(raw);
}

/** A string option that must be present. */
export function requiredOption(values: Values, name: string, path: string): string {
  const v = values[name];
  if (typeof v !== 'string' || v === '') throw new UsageError(`--${name} is required`, path);
  return v;
}

/**
 * Stored text made inert for a terminal: C0 controls (ESC, CR, LF, TAB...), DEL and C1
 * controls become \u001b and the like. Usernames, emails and User-Agents come from whoever
 * registered or logged in; raw, an ESC sequence could clear the screen or rewrite what was
 * printed, and a line break could forge a table row. Unicode's line and paragraph separators
 * and bidirectional overrides and isolates (which reorder what a terminal shows, as in
 * "Trojan Source") are escaped too, and a backslash is doubled, so that a name holding the
 * text "\u001b" never looks like one holding ESC. (--json output is for programs, as it is.)
 */
export function escapeControls(text: string): string {
  return text.replace(/[\\\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (ch) =>
    ch === '\\' ? '\\\\' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Rows as aligned columns, the first row being the header; every cell shown with escapeControls. */
export function table(rows: string[][]): string {
  const shown = rows.map((r) => r.map(escapeControls));
  const widths = shown[0]!.map((_, i) => Math.max(...shown.map((r) => r[i]!.length)));
  return shown.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}

export const iso = (d: Date | null | undefined): string => (d ? d.toISOString() : '-');
