// gatehouse clients … and gatehouse api-users …: the service principals of Maho's
// client_credentials and api_user grants (API clients are also the OAuth 2 clients).
// Both kinds have the same life cycle, so one definition serves both groups.
import { isOAuthGrantType, OAUTH_GRANT_TYPES, type OAuthGrantType, type ServiceKind, type ServicePrincipal } from '../core/service-principals.js';
import { escapeControls, OperationFailed, table, UsageError, type Command, type Context, type Group } from './command.js';

interface Kind {
  kind: ServiceKind;
  group: string;
  /** What one is called in messages. */
  noun: string;
  /** The login name's label: client_id or username. */
  nameLabel: string;
  /** The secret's label: client_secret or api_key. */
  secretLabel: string;
}

const CLIENT: Kind = { kind: 'api_client', group: 'clients', noun: 'API client', nameLabel: 'clientId', secretLabel: 'clientSecret' };
const API_USER: Kind = { kind: 'api_user', group: 'api-users', noun: 'API user', nameLabel: 'username', secretLabel: 'apiKey' };

function principalJson(k: Kind, p: ServicePrincipal) {
  return {
    id: p.id,
    [k.nameLabel]: p.name,
    permissions: p.permissions,
    ...(k.kind === 'api_client' ? { grantTypes: p.grantTypes } : {}),
    active: p.active,
  };
}

async function find(ctx: Context, k: Kind, ref: string): Promise<ServicePrincipal> {
  const found = await (await ctx.services()).servicePrincipals.find(k.kind, ref);
  if (!found) throw new OperationFailed(`no ${k.noun} ${JSON.stringify(ref)}`);
  return found;
}

const permissionList = (v: unknown): string[] => (Array.isArray(v) ? (v as string[]) : []);

const PERMISSIONS_HELP = `  --permission <p>    repeatable: <resource>/<read|create|write|delete|all> (e.g. customers/read) or all`;

function create(k: Kind): Command {
  const path = `${k.group} create`;
  const isClient = k.kind === 'api_client';
  return {
    name: 'create',
    summary: `create an ${k.noun} and print its secret once`,
    usage: isClient
      ? '[--client-id <id>] --permission <p>... [--grant <grant>...] [--json]'
      : '--username <name> --permission <p>... [--json]',
    details: `${
      isClient
        ? `  --client-id <id>    the client_id (default: a random ghc_… one)\n${PERMISSIONS_HELP}\n  --grant <grant>     repeatable OAuth grant: ${OAUTH_GRANT_TYPES.join(', ')} (default client_credentials)`
        : `  --username <name>   the API user's login name\n${PERMISSIONS_HELP}`
    }

The ${isClient ? 'client_secret' : 'api_key'} is printed here once and stored only as a SHA-256 digest:
keep it now, it cannot be shown again.

Example:
  gatehouse ${path} ${isClient ? '--permission customers/read --grant client_credentials' : '--username reporting --permission customers/read'}`,
    options: isClient
      ? { 'client-id': { type: 'string' }, permission: { type: 'string', multiple: true }, grant: { type: 'string', multiple: true } }
      : { username: { type: 'string' }, permission: { type: 'string', multiple: true } },
    async run(ctx, v) {
      const permissions = permissionList(v.permission);
      if (permissions.length === 0) throw new UsageError('at least one --permission is required', path);
      const name = (isClient ? v['client-id'] : v.username) as string | undefined;
      if (!isClient && !name) throw new UsageError('--username is required', path);
      const grants = permissionList(v.grant);
      const badGrant = grants.find((g) => !isOAuthGrantType(g));
      if (badGrant !== undefined) throw new UsageError(`--grant must be one of ${OAUTH_GRANT_TYPES.join(', ')} (got ${JSON.stringify(badGrant)})`, path);
      const { principal, secret } = await (await ctx.services()).servicePrincipals.create(k.kind, {
        name,
        permissions,
        grantTypes: grants.length > 0 ? (grants as OAuthGrantType[]) : undefined,
      });
      const secretName = isClient ? 'client_secret' : 'api_key';
      ctx.print(
        `created ${k.noun} ${principal.id}\n  ${isClient ? 'client_id' : 'username'}: ${escapeControls(principal.name)}\n  ${secretName}: ${secret}\n` +
          `  permissions: ${principal.permissions.join(' ')}${isClient ? `\n  grants: ${principal.grantTypes.join(' ')}` : ''}\n` +
          `The ${secretName} is shown only this once.`,
        { ...principalJson(k, principal), [k.secretLabel]: secret },
      );
    },
  };
}

function list(k: Kind): Command {
  return {
    name: 'list',
    summary: `list ${k.noun}s`,
    usage: '[--json]',
    details: `Secrets are never shown.\n\nExample:\n  gatehouse ${k.group} list --json`,
    async run(ctx) {
      const all = await (await ctx.services()).servicePrincipals.list(k.kind);
      const header = ['ID', k.kind === 'api_client' ? 'CLIENT_ID' : 'USERNAME', 'STATUS', 'PERMISSIONS', ...(k.kind === 'api_client' ? ['GRANTS'] : [])];
      const rows = all.map((p) => [
        String(p.id),
        p.name,
        p.active ? 'active' : 'inactive',
        p.permissions.join(',') || '-',
        ...(k.kind === 'api_client' ? [p.grantTypes.join(',') || '-'] : []),
      ]);
      ctx.print(all.length ? table([header, ...rows]) : `no ${k.noun}s`, { [k.group === 'clients' ? 'clients' : 'apiUsers']: all.map((p) => principalJson(k, p)) });
    },
  };
}

const REF_HELP = (k: Kind) => `  <${k.kind === 'api_client' ? 'client' : 'api-user'}>  ${k.kind === 'api_client' ? 'client_id' : 'username'} or id; refused when it is one's name and another's id`;

function setActive(k: Kind, active: boolean): Command {
  const name = active ? 'activate' : 'deactivate';
  const ref = k.kind === 'api_client' ? 'client' : 'api-user';
  return {
    name,
    summary: active ? `allow an ${k.noun} to get tokens again` : `refuse an ${k.noun}'s tokens and revoke its sessions`,
    usage: `<${ref}> [--json]`,
    details: `${REF_HELP(k)}\n\nExample:\n  gatehouse ${k.group} ${name} ${k.kind === 'api_client' ? 'ghc_0123…' : 'reporting'}`,
    positionals: [ref],
    async run(ctx, _v, [reference]) {
      const p = await find(ctx, k, reference!);
      await (await ctx.services()).servicePrincipals.setActive(p.id, active);
      ctx.print(`${name}d ${k.noun} ${p.id} ${escapeControls(p.name)}`, principalJson(k, { ...p, active }));
    },
  };
}

function remove(k: Kind): Command {
  const ref = k.kind === 'api_client' ? 'client' : 'api-user';
  return {
    name: 'delete',
    summary: `delete an ${k.noun} and every session of it`,
    usage: `<${ref}> [--json]`,
    details: `${REF_HELP(k)}\n\nIts tokens are refused from the next request on.\n\nExample:\n  gatehouse ${k.group} delete ${k.kind === 'api_client' ? 'ghc_0123…' : 'reporting'}`,
    positionals: [ref],
    async run(ctx, _v, [reference]) {
      const p = await find(ctx, k, reference!);
      if (!(await (await ctx.services()).servicePrincipals.delete(p.id))) throw new OperationFailed(`no ${k.noun} ${JSON.stringify(reference)}`);
      ctx.print(`deleted ${k.noun} ${p.id} ${escapeControls(p.name)}`, { deleted: { id: p.id, [k.nameLabel]: p.name } });
    },
  };
}

function setPermissions(k: Kind): Command {
  const ref = k.kind === 'api_client' ? 'client' : 'api-user';
  return {
    name: 'set-permissions',
    summary: `replace an ${k.noun}'s permissions (effective on the next request)`,
    usage: `<${ref}> (--permission <p>... | --none) [--json]`,
    details: `${REF_HELP(k)}\n${PERMISSIONS_HELP}\n  --none              no permission at all\n\nExample:\n  gatehouse ${k.group} set-permissions ${k.kind === 'api_client' ? 'ghc_0123…' : 'reporting'} --permission customers/read --permission customers/delete`,
    options: { permission: { type: 'string', multiple: true }, none: { type: 'boolean' } },
    positionals: [ref],
    async run(ctx, v, [reference]) {
      const path = `${k.group} set-permissions`;
      const permissions = permissionList(v.permission);
      if (permissions.length === 0 && !v.none) throw new UsageError('give --permission at least once, or --none', path);
      if (permissions.length > 0 && v.none) throw new UsageError('--none cannot be combined with --permission', path);
      const p = await find(ctx, k, reference!);
      const services = await ctx.services();
      await services.servicePrincipals.setPermissions(p.id, permissions);
      const updated = (await services.servicePrincipals.get(p.id)) ?? p;
      ctx.print(`${k.noun} ${p.id} ${escapeControls(p.name)}: ${updated.permissions.join(' ') || 'no permissions'}`, principalJson(k, updated));
    },
  };
}

function group(k: Kind, summary: string): Group {
  return {
    name: k.group,
    summary,
    commands: [create(k), list(k), setActive(k, false), setActive(k, true), remove(k), setPermissions(k)],
  };
}

export const clients = group(CLIENT, 'API clients: client_id + client_secret, for the client_credentials grant (Maho, OAuth 2).');
export const apiUsers = group(API_USER, "API users: username + api_key, for Maho's api_user grant.");
