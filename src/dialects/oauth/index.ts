// The OAuth 2 standards layer: RFC 8414 discovery, the RFC 6749 token endpoint, and RFC 7009
// revocation and RFC 7662 introspection of every dialect's tokens.
import { Router } from 'express';
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
    return Router()
      .get('/.well-known/oauth-authorization-server', metadata(s))
      .post('/oauth/token', token(s))
      .post('/oauth/revoke', revoke(s))
      .post('/oauth/introspect', introspect(s));
  },
  renderError,
};
