// Maho's token: iss, aud, jti, sub (customer_<id> | api_user_<id>), type, roles, iat, nbf,
// exp, plus customer_id + email, or api_user_id + username + permissions (informational:
// every request reads the permissions from the store, never from the token).
import type { OpenedSession, SessionPolicy } from '../../core/sessions.js';
import type { Services } from '../../services.js';

export async function issueAccessToken(s: Services, policy: SessionPolicy, session: OpenedSession) {
  const p = session.principal;
  const claims =
    p.kind === 'user'
      ? { type: 'customer', roles: ['ROLE_CUSTOMER'], customer_id: p.user.id, email: p.user.email }
      : { type: 'api_user', roles: [], api_user_id: p.service.id, username: p.service.name, permissions: p.service.permissions };
  return s.tokens.signForSession(session, policy, s.config.maho.accessTokenTtlS, claims);
}

/** The token answer: both spellings, as the seed documents and as current Maho sends. */
export function tokenAnswer(token: string, expiresIn: number) {
  return { token, tokenType: 'Bearer', expiresIn, token_type: 'Bearer', expires_in: expiresIn } as const;
}
