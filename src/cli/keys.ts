// gatehouse keys …: the ES256 signing keys, their rotation and emergency retirement.
import { JWKS_MAX_AGE_S, type KeyInfo } from '../core/keys.js';
import { intOption, iso, table, type Command, type Group } from './command.js';

const list: Command = {
  name: 'list',
  summary: 'list signing keys and their state',
  usage: '[--json]',
  details: `States: pending (published in the JWKS, not signing yet), signing, verifying-only (a newer
key signs; its tokens stay valid until retire_after), retired (out of the JWKS, verifies
nothing). Private keys are never shown.

Example:
  gatehouse keys list`,
  async run(ctx) {
    const keys = await (await ctx.services()).keys.list();
    const rows = keys.map((k) => [k.kid, k.state, iso(k.createdAt), iso(k.activatesAt), iso(k.retireAfter)]);
    ctx.print(table([['KID', 'STATE', 'CREATED', 'ACTIVATES_AT', 'RETIRE_AFTER'], ...rows]), { keys });
  },
};

const rotate: Command = {
  name: 'rotate',
  summary: 'create a new signing key that starts signing after a delay',
  usage: '[--activate-in <seconds>] [--force] [--json]',
  details: `The new key is published in /.well-known/jwks.json at once and signs from its activation
on. The keys in service keep verifying their tokens until the longest access token any
dialect issues has expired (plus CLOCK_TOLERANCE_S), then leave the JWKS.

  --activate-in <s>   delay before the new key signs (default KEY_ROTATION_DELAY_S, 600);
                      below ${JWKS_MAX_AGE_S} s, resource servers holding a cached JWKS may
                      meet the new key before they fetch it (most refetch on an unknown kid)
  --force             rotate even while an earlier new key is pending (that key is retired unused)

Example:
  gatehouse keys rotate
  gatehouse keys rotate --activate-in 0 --force    # a leaked key: replace it now, then retire it`,
  options: { 'activate-in': { type: 'string' }, force: { type: 'boolean' } },
  async run(ctx, v) {
    const activateInS = intOption(v, 'activate-in', 0, 2_592_000, 'keys rotate');
    if (activateInS !== undefined && activateInS < JWKS_MAX_AGE_S) {
      ctx.warn(`note: the new key signs before the ${JWKS_MAX_AGE_S} s a JWKS may be cached have passed`);
    }
    const r = await (await ctx.services()).keys.rotate({ activateInS, force: v.force === true });
    const lines = [`new key ${r.kid} signs from ${iso(r.activatesAt)}`];
    for (const k of r.retiring) lines.push(`key ${k.kid} retires at ${iso(k.retireAfter)}`);
    for (const k of r.cancelled) lines.push(`pending key ${k.kid} retired unused`);
    ctx.print(lines.join('\n'), r);
  },
};

const retire: Command = {
  name: 'retire',
  summary: 'retire a key now (a leaked key): its tokens are refused at once',
  usage: '<kid> [--json]',
  details: `  <kid>   a KID from 'gatehouse keys list'

The key leaves the JWKS and every token it signed is refused from the next request on
(other instances on the same PostgreSQL within 10 seconds). The key signing now cannot be
retired: rotate with --activate-in 0 --force first. Retiring a pending key cancels its rotation.

Example:
  gatehouse keys retire 0VnWm3wq…`,
  positionals: ['kid'],
  async run(ctx, _v, [kid]) {
    const k: KeyInfo = await (await ctx.services()).keys.retire(kid!);
    ctx.print(`retired key ${k.kid}`, k);
  },
};

export const keys: Group = {
  name: 'keys',
  summary: 'Signing keys: list, rotate, retire.',
  commands: [list, rotate, retire],
};
