// gatehouse purge: deletes rows that can no longer authenticate anyone. What is safe to delete
// is decided in core (Sessions.purge, KeyRing.purgeRetired), which explains why.
import { RETIRED_KEY_RETENTION_S } from '../core/keys.js';
import { intOption, type Command } from './command.js';

const MAX_KEEP_DAYS = 3650;

export const purge: Command = {
  name: 'purge',
  summary: 'delete expired and revoked sessions, expired refresh tokens and long-retired keys',
  usage: '[--keep-days <n>] [--json]',
  details: `Deletes: sessions that expired or were revoked (with their refresh tokens), expired refresh
tokens of live sessions, and signing keys retired more than ${RETIRED_KEY_RETENTION_S / 3600} hours ago. Keeps every
unexpired refresh token of a live session, rotated ones included: presenting a rotated
token again is how a stolen token is detected. Nothing deleted changes who is let in.
Safe to run any time, e.g. daily from cron, also beside running servers on PostgreSQL.

  --keep-days <n>   keep ended sessions until they have been over for n days (0 to ${MAX_KEEP_DAYS},
                    default 0), so that 'gatehouse sessions list' still shows them for audit

Example:
  gatehouse purge --keep-days 30 --json`,
  options: { 'keep-days': { type: 'string' } },
  async run(ctx, values) {
    const keepDays = intOption(values, 'keep-days', 0, MAX_KEEP_DAYS, 'purge') ?? 0;
    const services = await ctx.services();
    const counts = { ...(await services.sessions.purge(keepDays * 86_400)), retiredKeys: await services.keys.purgeRetired() };
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
