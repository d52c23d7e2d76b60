// gatehouse users …: create, list, deactivate, activate and delete users.
import { ROLES, type Role, type User } from '../core/users.js';
import { escapeControls, intOption, iso, OperationFailed, requiredOption, table, UsageError, type Command, type Context, type Group } from './command.js';
import { newPassword } from './password-input.js';

/** What the command line shows of a user (never the password hash). */
export function userJson(u: User) {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    firstName: u.firstName,
    lastName: u.lastName,
    role: u.role,
    active: u.active,
    createdAt: u.createdAt,
    updatedAt: u.updatedAt,
  };
}

/** The user a command names by username or id; OperationFailed when there is none. */
export async function findUser(ctx: Context, ref: string): Promise<User> {
  const user = await (await ctx.services()).accounts.find(ref);
  if (!user) throw new OperationFailed(`no user ${JSON.stringify(ref)}`);
  return user;
}

/** Help for a <user> argument (see Accounts.find). */
export const USER_ARG = `<user>     username or id; refused when it is one user's username and another's id`;

const create: Command = {
  name: 'create',
  summary: 'create a user (any role)',
  usage: '--username <name> --email <email> [--role user|moderator|admin] [--first-name <s>] [--last-name <s>] [--password-stdin]',
  details: `The password is read from standard input with --password-stdin, or asked for twice on a
terminal; never pass it as an argument. The password policy is the registration's: 8 to 256
characters, not a common password, not the username or email.

  --username <name>   login name (unique, case-insensitive)
  --email <email>     email (unique, case-insensitive)
  --role <role>       user (default), moderator or admin
  --first-name <s>, --last-name <s>
  --password-stdin    read the password from standard input

Example:
  printf '%s' "$PASSWORD" | gatehouse users create --username alice --email alice@example.com --role admin --password-stdin`,
  options: {
    username: { type: 'string' },
    email: { type: 'string' },
    role: { type: 'string' },
    'first-name': { type: 'string' },
    'last-name': { type: 'string' },
    'password-stdin': { type: 'boolean' },
  },
  async run(ctx, v) {
    const path = 'users create';
    const username = requiredOption(v, 'username', path);
    const email = requiredOption(v, 'email', path);
    const role = (v.role as string | undefined) ?? 'user';
    if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`, path);
    const password = await newPassword(ctx.stdin, ctx.stderr, v['password-stdin'] === true, path);
    const user = await (await ctx.services()).accounts.create({
      username,
      email,
      password,
      role: role as Role,
      firstName: v['first-name'] as string | undefined,
      lastName: v['last-name'] as string | undefined,
    });
    ctx.print(`created user ${user.id} ${escapeControls(user.username)} (${user.role})`, { user: userJson(user) });
  },
};

const list: Command = {
  name: 'list',
  summary: 'list users, by id',
  usage: '[--page <n>] [--page-size <n>] [--json]',
  details: `  --page <n>        page number, from 1 (default 1)
  --page-size <n>   users per page, 1 to 1000 (default 50)

Example:
  gatehouse users list --page 2 --page-size 20 --json`,
  options: { page: { type: 'string' }, 'page-size': { type: 'string' } },
  async run(ctx, v) {
    const page = intOption(v, 'page', 1, 1_000_000, 'users list') ?? 1;
    const pageSize = intOption(v, 'page-size', 1, 1000, 'users list') ?? 50;
    const { users, total } = await (await ctx.services()).accounts.list(page, pageSize);
    const rows = users.map((u) => [String(u.id), u.username, u.email, u.role, u.active ? 'active' : 'inactive', iso(u.createdAt)]);
    const pages = Math.max(1, Math.ceil(total / pageSize));
    ctx.print(`${table([['ID', 'USERNAME', 'EMAIL', 'ROLE', 'STATUS', 'CREATED'], ...rows])}\npage ${page} of ${pages}, ${total} users`, {
      users: users.map(userJson),
      page,
      pageSize,
      total,
    });
  },
};

function setActive(active: boolean): Command {
  const name = active ? 'activate' : 'deactivate';
  return {
    name,
    summary: active ? 'allow a user to log in again' : 'refuse a user’s logins and tokens, and revoke every session',
    usage: '<user> [--json]',
    details: `  ${USER_ARG}
${active ? '\nSessions revoked by a deactivation stay revoked.\n' : '\nTakes effect on running servers at once: every session of the user is revoked.\n'}
Example:
  gatehouse users ${name} alice`,
    positionals: ['user'],
    async run(ctx, _v, [ref]) {
      const user = await findUser(ctx, ref!);
      await (await ctx.services()).accounts.setActive(user.id, active);
      ctx.print(`${name}d user ${user.id} ${escapeControls(user.username)}`, { user: userJson({ ...user, active }) });
    },
  };
}

const remove: Command = {
  name: 'delete',
  summary: 'delete a user and every session of theirs',
  usage: '<user> [--json]',
  details: `  ${USER_ARG}

Every token of the user is refused from the next request on.

Example:
  gatehouse users delete alice`,
  positionals: ['user'],
  async run(ctx, _v, [ref]) {
    const user = await findUser(ctx, ref!);
    if (!(await (await ctx.services()).accounts.delete(user.id))) throw new OperationFailed(`no user ${JSON.stringify(ref)}`);
    ctx.print(`deleted user ${user.id} ${escapeControls(user.username)}`, { deleted: { id: user.id, username: user.username } });
  },
};

export const users: Group = {
  name: 'users',
  summary: 'Users: the people who log in through every dialect.',
  commands: [create, list, setActive(false), setActive(true), remove],
};
