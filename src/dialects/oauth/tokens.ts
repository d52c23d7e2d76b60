// Access tokens of the OAuth layer: the RFC 9068 JWT profile. `client_id` names the client
// the token was issued to and `scope` what it may do; never a secret.
import type { OAuthTokenResponse } from '../../../generated/client/types.gen.js';
import type { ServicePrincipal } from '../../core/service-principals.js';
import type { OpenedSession } from '../../core/sessions.js';
import type { Services } from '../../services.js';
import { oauthPolicy } from './policy.js';

export async function tokenAnswer(
  s: Services,
  session: OpenedSession,
  client: ServicePrincipal,
  extra: { scope?: string[]; refreshToken?: string } = {},
): Promise<OAuthTokenResponse> {
  const ttl = s.config.oauth.accessTokenTtlS;
  const scope = extra.scope?.join(' ');
  const claims = { client_id: client.name, ...(scope ? { scope } : {}) };
  const { token } = await s.tokens.signForSession(session, oauthPolicy(s.config), ttl, claims);
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: ttl,
    ...(extra.refreshToken ? { refresh_token: extra.refreshToken } : {}),
    ...(scope ? { scope } : {}),
  };
}
