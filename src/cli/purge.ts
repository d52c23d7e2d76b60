// gatehouse purge: deletes rows that can no longer authenticate anyone. What is safe to delete
// is decided in core (Sessions.purge, KeyRing.purgeRetired), which explains why.
import { RETIRED_KEY_RETENTION_S } from '../core/keys.js';
import type { Command } from './command.js';

export const purge: Command = {
  name: 'purge',
  summary: 'delete expired and revoked sessions, expired refresh tokens and long-retired keys',
  usage: '[--json]',
  details: `Deletes: sessions that expired or were revoked (with their refresh tokens), expired refresh
tokens of live sessions, and signing keys retired more than ${RETIRED_KEY_RETENTION_S / 3600} hours ago. Keeps every
unexpired refresh token of a live session, rotated ones included: presenting a rotated
token again is how a stolen token is detected. Nothing deleted changes who is let in.
Safe to run any time, e.g. daily from cron, also beside running servers on PostgreSQL.

Example:
  gatehouse purge --json`,
  async run(ctx) {
    const services = await ctx.services();
    const counts = { ...(await services.sessions.purge()), retiredKeys: await services.keys.purgeRetired() };
    ctx.print(
      [
        `expired sessions deleted:       ${counts.expiredSessions}`,
        `revoked sessions deleted:       ${counts.revokedSessions}`,
        `expired refresh tokens deleted: ${counts.expiredRefreshTokens}`,
        `retired keys deleted:           ${counts.retiredKeys}`,
      ].join('\n'),
      counts,
    );
  },
};
