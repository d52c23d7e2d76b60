import type { RequestHandler } from 'express';
import type { OAuthTokenRequestByToken } from '../../../generated/client/types.gen.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { authenticateClient } from './client-auth.js';
import { oauthError } from './errors.js';
import { findToken, type FoundToken } from './find-token.js';

/**
 * POST /oauth/revoke — RFC 7009, for tokens of every dialect. Revokes the token's whole
 * session (every access and refresh token of it), as section 2.1 allows. Only a token that
 * could still be used revokes anything: an expired, renewed or rotated one found in a log
 * must not be a way to end other people's sessions (a rotated refresh token still revokes
 * its session where it is replayed, at the dialect's own refresh route).
 */
export function revoke(s: Services): RequestHandler {
  return async (req, res) => {
    const body = req.body as OAuthTokenRequestByToken;
    const client = await authenticateClient(s, req, body, { refundIp: true });
    if (!body.token) throw oauthError('invalid_request', 'token is required');
    const found = await findToken(s, body.token);
    if (found && usable(s, found)) {
      const owner = found.session.clientId;
      if (owner !== null && owner !== client.id) {
        s.audit.record({ event: 'access_denied', action: 'revoke a token of another client', principalId: client.id }, clientInfo(req));
        throw oauthError('unauthorized_client', 'The token was issued to another client');
      }
      await s.sessions.revoke(found.session.sessionId, 'token_revocation', { client: clientInfo(req), session: found.session, oauthClientId: client.id });
    }
    res.json({});
  };
}

function usable(s: Services, found: FoundToken): boolean {
  if (found.kind === 'access') return s.sessions.isLive(found.session, found.claims.gen);
  return found.refresh.rotatedAt === null && found.refresh.expiresAt > s.clock.now() && s.sessions.isLive(found.session);
}
