import type { RequestHandler } from 'express';
import type { OAuthTokenRequest } from '../../../generated/client/types.gen.js';
import { requestable } from '../../core/permissions.js';
import { isOAuthGrantType, OAUTH_GRANT_TYPES, type ServicePrincipal } from '../../core/service-principals.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { authenticateClient } from './client-auth.js';
import { oauthError } from './errors.js';
import { oauthPolicy } from './policy.js';
import { tokenAnswer } from './tokens.js';

/** A scope string's tokens (RFC 6749 section 3.3: space-separated NQCHAR strings); [] if absent. */
function requestedScopes(scope: string | undefined): string[] {
  if (scope === undefined || scope.trim() === '') return [];
  const scopes = scope.trim().split(/ +/);
  if (scopes.some((sc) => !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(sc))) throw oauthError('invalid_scope', 'Malformed scope');
  return [...new Set(scopes)];
}

function required(value: string | undefined, name: string): string {
  if (value === undefined || value === '') throw oauthError('invalid_request', `${name} is required`);
  return value;
}

/** client_credentials: the client's own permissions, or the narrower set it asks for. */
function grantedScopes(client: ServicePrincipal, scope: string | undefined): string[] {
  const wanted = requestedScopes(scope);
  if (wanted.length === 0) return client.permissions;
  const refused = wanted.filter((w) => !requestable(client.permissions, w));
  if (refused.length > 0) throw oauthError('invalid_scope', `Scope not granted to this client: ${refused.join(' ')}`);
  return wanted;
}

/** User tokens carry no scope; asking for one is an error rather than a silent narrowing. */
function noScopes(scope: string | undefined): void {
  if (requestedScopes(scope).length > 0) throw oauthError('invalid_scope', 'Tokens for users carry no scopes');
}

/** A session issued to `client` whose one access token cannot be renewed: it ends with that token. */
const soleToken = (s: Services, client: ServicePrincipal) => ({
  oauthClientId: client.id,
  lifetimeS: s.config.oauth.accessTokenTtlS + s.config.clockToleranceS,
});

/** POST /oauth/token — RFC 6749 token endpoint. */
export function token(s: Services): RequestHandler {
  const policy = oauthPolicy(s.config);
  return async (req, res) => {
    const body = req.body as OAuthTokenRequest;
    const grant = body.grant_type;
    // client_credentials pays its login attempt per IP like every Maho grant; the password
    // grant pays for its password check, and refresh_token is counted as a refresh instead.
    const client = await authenticateClient(s, req, body, { refundIp: grant !== 'client_credentials' });
    if (grant === '') throw oauthError('invalid_request', 'grant_type is required');
    if (!isOAuthGrantType(grant)) {
      throw oauthError('unsupported_grant_type', `Supported grant types: ${OAUTH_GRANT_TYPES.join(', ')}`);
    }
    if (!client.grantTypes.includes(grant)) {
      s.audit.record({ event: 'access_denied', action: `grant ${grant}`, principalId: client.id }, clientInfo(req));
      throw oauthError('unauthorized_client', `This client may not use the ${grant} grant`);
    }
    const info = clientInfo(req);
    switch (grant) {
      case 'client_credentials': {
        const scope = grantedScopes(client, body.scope);
        const session = await s.sessions.open({ kind: 'service', service: client }, policy, info, soleToken(s, client));
        return void res.json(await tokenAnswer(s, session, client, { scope }));
      }
      case 'password': {
        const username = required(body.username, 'username');
        const password = required(body.password, 'password');
        noScopes(body.scope);
        const user = await s.passwordLogin.check(username, password, info, { email: true, phone: false });
        if (!client.grantTypes.includes('refresh_token')) {
          const session = await s.sessions.open({ kind: 'user', user }, policy, info, soleToken(s, client));
          return void res.json(await tokenAnswer(s, session, client));
        }
        const session = await s.sessions.start(user, policy, info, client.id);
        return void res.json(await tokenAnswer(s, session, client, { refreshToken: session.refreshToken }));
      }
      case 'refresh_token': {
        const refreshToken = required(body.refresh_token, 'refresh_token');
        noScopes(body.scope);
        const session = await s.sessions.rotate(refreshToken, policy, info, client.id);
        return void res.json(await tokenAnswer(s, session, client, { refreshToken: session.refreshToken }));
      }
    }
  };
}
