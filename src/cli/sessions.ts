// gatehouse sessions …: a user's sessions (logins), and revoking them. Only metadata is
// shown: no token, refresh token or hash.
import type { SessionSummary } from '../store/sessions.js';
import { escapeControls, iso, OperationFailed, table, type Command, type Group } from './command.js';
import { findUser, USER_ARG } from './users.js';

function stateOf(s: SessionSummary, now: number): string {
  if (s.revokedAt) return `revoked (${s.revokedReason ?? 'unknown'})`;
  return s.expiresAt.getTime() <= now ? 'expired' : 'live';
}

const list: Command = {
  name: 'list',
  summary: "list a user's sessions, newest first",
  usage: '<user> [--json]',
  details: `  ${USER_ARG}

Shows each session's id, audience (the dialect it was opened in), the OAuth client it was
issued to (if any), creation, expiry, revocation, IP address and User-Agent; never token
material.

Example:
  gatehouse sessions list emilys`,
  positionals: ['user'],
  async run(ctx, _v, [ref]) {
    const user = await findUser(ctx, ref!);
    const services = await ctx.services();
    const sessions = await services.sessions.listForUser(user.id);
    const now = services.clock.now();
    const rows = sessions.map((s) => [s.id, s.audience, s.clientId ?? '-', stateOf(s, now), iso(s.createdAt), iso(s.expiresAt), s.ip ?? '-', s.userAgent ?? '-']);
    ctx.print(
      sessions.length ? table([['ID', 'AUDIENCE', 'CLIENT', 'STATE', 'CREATED', 'EXPIRES', 'IP', 'USER-AGENT'], ...rows]) : `no sessions for ${escapeControls(user.username)}`,
      { user: { id: user.id, username: user.username }, sessions },
    );
  },
};

const revoke: Command = {
  name: 'revoke',
  summary: 'revoke one session: its access and refresh tokens are refused from now on',
  usage: '<session-id> [--json]',
  details: `  <session-id>   an ID from 'gatehouse sessions list'

Example:
  gatehouse sessions revoke 5f0c2d9e8a7b41c6b3e2d1f0a9b8c7d6`,
  positionals: ['session-id'],
  async run(ctx, _v, [id]) {
    if (!(await (await ctx.services()).sessions.revoke(id!, 'admin'))) throw new OperationFailed(`no live session ${JSON.stringify(id)}`);
    ctx.print(`revoked session ${id}`, { revoked: [id] });
  },
};

const revokeAll: Command = {
  name: 'revoke-all',
  summary: "revoke every live session of a user, in every dialect",
  usage: '<user> [--json]',
  details: `  ${USER_ARG}

The user can still log in again; deactivate them to stop that.

Example:
  gatehouse sessions revoke-all emilys`,
  positionals: ['user'],
  async run(ctx, _v, [ref]) {
    const user = await findUser(ctx, ref!);
    const count = await (await ctx.services()).sessions.revokeAllForUser(user.id, 'admin');
    ctx.print(`revoked ${count} session${count === 1 ? '' : 's'} of ${escapeControls(user.username)}`, { user: { id: user.id, username: user.username }, revoked: count });
  },
};

export const sessions: Group = {
  name: 'sessions',
  summary: "Sessions: one per login; revoking one kills its tokens on every running server at once.",
  commands: [list, revoke, revokeAll],
};
