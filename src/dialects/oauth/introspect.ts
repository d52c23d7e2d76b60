import type { RequestHandler } from 'express';
import type { OAuthIntrospection, OAuthTokenRequestByToken } from '../../../generated/client/types.gen.js';
import { covers } from '../../core/permissions.js';
import type { Principal } from '../../store/sessions.js';
import type { Services } from '../../services.js';
import { authenticateClient } from './client-auth.js';
import { oauthError } from './errors.js';
import { findToken } from './find-token.js';

const INACTIVE: OAuthIntrospection = { active: false };

const nameOf = (p: Principal) => (p.kind === 'user' ? p.user.username : p.service.name);

/**
 * POST /oauth/introspect — RFC 7662, for tokens of every dialect. Refresh tokens are shown
 * only to the client they were issued to: they are never meant for a resource server, and
 * one that checked only `active` and `aud` must not take a refresh token for an access token.
 */
export function introspect(s: Services): RequestHandler {
  return async (req, res) => {
    const body = req.body as OAuthTokenRequestByToken;
    const caller = await authenticateClient(s, req, body, { refundIp: true });
    if (!body.token) throw oauthError('invalid_request', 'token is required');
    const found = await findToken(s, body.token);
    if (!found) return void res.json(INACTIVE);
    const { session } = found;
    // The session's client must still be active (deactivation also revokes, but say so here too).
    const client = session.clientId === null ? undefined : await s.servicePrincipals.get(session.clientId);
    if (client && !client.active) return void res.json(INACTIVE);
    const common = {
      active: true,
      username: nameOf(session.principal),
      ...(client ? { client_id: client.name } : {}),
      aud: session.audience,
      iss: s.config.publicUrl,
    };
    if (found.kind === 'access') {
      const c = found.claims;
      if (!s.sessions.isLive(session, c.gen)) return void res.json(INACTIVE);
      const scope = typeof c.scope === 'string' ? currentScope(c.scope, session.principal) : undefined;
      const answer: OAuthIntrospection = {
        ...common,
        token_type: 'Bearer',
        ...(scope ? { scope } : {}),
        sub: c.sub,
        exp: c.exp,
        iat: c.iat,
        ...(c.nbf !== undefined ? { nbf: c.nbf } : {}),
        jti: c.jti,
      };
      return void res.json(answer);
    }
    const r = found.refresh;
    if (session.clientId !== caller.id || r.rotatedAt !== null || r.expiresAt <= s.clock.now() || !s.sessions.isLive(session)) {
      return void res.json(INACTIVE);
    }
    const answer: OAuthIntrospection = {
      ...common,
      token_type: 'refresh_token',
      exp: Math.floor(r.expiresAt / 1000),
      iat: Math.floor(r.createdAt / 1000),
    };
    res.json(answer);
  };
}

/**
 * A service token's scope as it stands now: what was granted, less what the principal has
 * lost since (permissions are read from the store on every request, never trusted from a token).
 */
function currentScope(granted: string, p: Principal): string {
  if (p.kind !== 'service') return granted;
  return granted
    .split(' ')
    .filter((sc) => covers(p.service.permissions, sc))
    .join(' ');
}
