// Finding the session behind a token of any dialect, for introspection and revocation.
import type { AccessTokenClaims } from '../../core/access-tokens.js';
import type { SessionAuthState, StoredRefreshToken } from '../../store/sessions.js';
import type { Services } from '../../services.js';

export type FoundToken =
  | { kind: 'access'; claims: AccessTokenClaims & { aud: string }; session: SessionAuthState }
  | { kind: 'refresh'; refresh: StoredRefreshToken; session: SessionAuthState };

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * The token's session, whatever its state, or undefined for anything not issued here. The
 * two kinds cannot be confused: access tokens are JWTs, and no refresh token format of any
 * dialect contains a dot. So `token_type_hint` is not needed, and is ignored, as RFC 7009
 * section 2.1 allows.
 */
export async function findToken(s: Services, token: string): Promise<FoundToken | undefined> {
  if (JWT_SHAPE.test(token)) {
    const found = await s.sessions.findByAccessToken(token);
    return found && { kind: 'access', ...found };
  }
  const found = await s.sessions.findByRefreshToken(token);
  return found && { kind: 'refresh', ...found };
}
