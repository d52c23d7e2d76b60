import type { RequestHandler } from 'express';
import type { OAuthIntrospection, OAuthTokenRequestByToken } from '../../../generated/client/types.gen.js';
import type { Principal } from '../../store/sessions.js';
import type { Services } from '../../services.js';
import { authenticateClient } from './client-auth.js';
import { oauthError } from './errors.js';
import { findToken } from './find-token.js';

const INACTIVE: OAuthIntrospection = { active: false };

const nameOf = (p: Principal) => (p.kind === 'user' ? p.user.username : p.service.name);

/** POST /oauth/introspect — RFC 7662, for tokens of every dialect. */
export function introspect(s: Services): RequestHandler {
  return async (req, res) => {
    const body = req.body as OAuthTokenRequestByToken;
    await authenticateClient(s, req, body, { frequent: true });
    if (!body.token) throw oauthError('invalid_request', 'token is required');
    const found = await findToken(s, body.token);
    if (!found) return void res.json(INACTIVE);
    const clientName = found.session.clientId === null ? undefined : (await s.servicePrincipals.get(found.session.clientId))?.name;
    const common = {
      active: true,
      username: nameOf(found.session.principal),
      ...(clientName ? { client_id: clientName } : {}),
      aud: found.session.audience,
      iss: s.config.publicUrl,
    };
    if (found.kind === 'access') {
      const c = found.claims;
      if (!s.sessions.isLive(found.session, c.gen)) return void res.json(INACTIVE);
      const answer: OAuthIntrospection = {
        ...common,
        token_type: 'Bearer',
        ...(typeof c.scope === 'string' ? { scope: c.scope } : {}),
        sub: c.sub,
        exp: c.exp,
        iat: c.iat,
        ...(c.nbf !== undefined ? { nbf: c.nbf } : {}),
        jti: c.jti,
      };
      return void res.json(answer);
    }
    const r = found.refresh;
    if (r.rotatedAt !== null || r.expiresAt <= s.clock.now() || !s.sessions.isLive(found.session)) return void res.json(INACTIVE);
    const answer: OAuthIntrospection = {
      ...common,
      token_type: 'refresh_token',
      exp: Math.floor(r.expiresAt / 1000),
      iat: Math.floor(r.createdAt / 1000),
    };
    res.json(answer);
  };
}
