import type { Config } from '../../config.js';
import type { SessionPolicy } from '../../core/sessions.js';

/** Tokens of this dialect carry this audience and are refused everywhere else. */
export const COCART_AUDIENCE = 'gatehouse:cocart';

export function cocartPolicy(config: Config): SessionPolicy {
  return {
    audience: COCART_AUDIENCE,
    // The original's format: 128 hex characters (512 bits).
    refreshTokenFormat: 'hex-512',
    // "Rotation kills the old access and refresh tokens at once."
    revokeAccessOnRefresh: true,
    // A second refresh would kill the first one's new access token anyway (see above), so a
    // grace window could not help concurrent callers: every reuse of a rotated token is a replay.
    concurrentRefreshGrace: false,
    // The seed: a token minted with a User-Agent stays valid only with the same User-Agent.
    bindUserAgent: true,
    bindIp: config.cocart.bindIp,
  };
}
