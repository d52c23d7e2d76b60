import type { RequestHandler } from 'express';
import type { OAuthTokenRequestByToken } from '../../../generated/client/types.gen.js';
import type { Services } from '../../services.js';
import { authenticateClient } from './client-auth.js';
import { oauthError } from './errors.js';
import { findToken } from './find-token.js';

/**
 * POST /oauth/revoke — RFC 7009, for tokens of every dialect. Revokes the token's whole
 * session (every access and refresh token of it), as section 2.1 allows. An expired access
 * token revokes nothing: only a token that could still be used is worth revoking, and an old
 * one found in a log must not be a way to end other people's sessions.
 */
export function revoke(s: Services): RequestHandler {
  return async (req, res) => {
    const body = req.body as OAuthTokenRequestByToken;
    const client = await authenticateClient(s, req, body, { frequent: true });
    if (!body.token) throw oauthError('invalid_request', 'token is required');
    const found = await findToken(s, body.token);
    if (found) {
      const owner = found.session.clientId;
      if (owner !== null && owner !== client.id) throw oauthError('unauthorized_client', 'The token was issued to another client');
      await s.sessions.revoke(found.session.sessionId, 'token_revocation');
    }
    res.json({});
  };
}
