import type { Config } from '../../config.js';
import type { SessionPolicy } from '../../core/sessions.js';
import { perConfig } from '../../http/dialect.js';

/** The Maho session policy for a configuration; built once, since every request asks for it. */
export const mahoPolicy = perConfig(build);

function build(config: Config): SessionPolicy {
  return {
    audience: config.maho.audience,
    refreshTokenFormat: 'base64url-256', // unused: Maho has no refresh tokens
    // "The old token is revoked at once" on refresh.
    revokeAccessOnRefresh: true,
    concurrentRefreshGrace: false,
    bindUserAgent: false,
    bindIp: false,
    subjectOf: (p) => (p.kind === 'user' ? `customer_${p.user.id}` : `api_user_${p.service.id}`),
  };
}
