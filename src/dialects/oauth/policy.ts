import type { Config } from '../../config.js';
import type { SessionPolicy } from '../../core/sessions.js';
import { perConfig } from '../../http/dialect.js';

/** The session policy of tokens from /oauth/token; built once per configuration. */
export const oauthPolicy = perConfig(build);

function build(config: Config): SessionPolicy {
  return {
    audience: config.oauth.audience,
    refreshTokenFormat: 'base64url-256',
    // As OAuth 2 intends: access tokens live out their short lifetime; a refresh does not kill them.
    revokeAccessOnRefresh: false,
    // OAuth clients are servers, not browser tabs sharing a cookie: every reuse is a replay
    // (the OAuth 2.1 / RFC 9700 reading of refresh token rotation).
    concurrentRefreshGrace: false,
    bindUserAgent: false,
    bindIp: false,
    // Prefixed so that a user and a client never share a subject (RFC 9068 section 2.2).
    subjectOf: (p) => (p.kind === 'user' ? `user_${p.user.id}` : `client_${p.service.id}`),
  };
}
