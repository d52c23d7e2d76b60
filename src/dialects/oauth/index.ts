// The OAuth 2 standards layer: RFC 8414 discovery, the RFC 6749 token endpoint, and RFC 7009
// revocation and RFC 7662 introspection of every dialect's tokens.
import { Router, type RequestHandler } from 'express';
import type { OAuthTokenRequest } from '../../../generated/client/types.gen.js';
import { reportedLogin, reportedRefresh } from '../../http/auth-events.js';
import type { Dialect } from '../../http/dialect.js';
import type { Services } from '../../services.js';
import { renderError } from './errors.js';
import { introspect } from './introspect.js';
import { metadata } from './metadata.js';
import { revoke } from './revoke.js';
import { token } from './token.js';
import { oauthPolicy } from './policy.js';

export const oauth: Dialect = {
  name: 'oauth',
  prefixes: ['/oauth', '/.well-known/oauth-authorization-server'],
  policy: oauthPolicy,
  router(s: Services) {
    return Router({ caseSensitive: true })
      .get('/.well-known/oauth-authorization-server', metadata(s))
      .post('/oauth/token', reportedToken(s))
      .post('/oauth/revoke', revoke(s))
      .post('/oauth/introspect', introspect(s));
  },
  renderError,
};

/** The token endpoint, counted as a login (password, client_credentials) or as a refresh. */
function reportedToken(s: Services): RequestHandler {
  const grantOf = (body: unknown) => (body as Partial<OAuthTokenRequest> | undefined)?.grant_type;
  const login = reportedLogin(s, 'oauth', token(s), (req) => {
    const grant = grantOf(req.body);
    return grant === 'password' || grant === 'client_credentials' ? grant : 'unsupported';
  });
  const refresh = reportedRefresh(s, 'oauth', token(s));
  return (req, res, next) => (grantOf(req.body) === 'refresh_token' ? refresh : login)(req, res, next);
}
