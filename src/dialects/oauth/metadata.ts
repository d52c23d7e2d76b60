import type { RequestHandler } from 'express';
import type { OAuthMetadata } from '../../../generated/client/types.gen.js';
import { SIGNING_ALG } from '../../core/keys.js';
import { knownPermissions } from '../../core/permissions.js';
import { OAUTH_GRANT_TYPES } from '../../core/service-principals.js';
import type { Services } from '../../services.js';

const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post'];

/** GET /.well-known/oauth-authorization-server — RFC 8414, built from PUBLIC_URL. */
export function metadata(s: Services): RequestHandler {
  const base = s.config.publicUrl;
  const answer: OAuthMetadata = {
    issuer: base,
    token_endpoint: `${base}/oauth/token`,
    jwks_uri: `${base}/.well-known/jwks.json`,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    scopes_supported: knownPermissions(),
    response_types_supported: [],
    grant_types_supported: [...OAUTH_GRANT_TYPES],
    token_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    revocation_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    introspection_endpoint_auth_methods_supported: CLIENT_AUTH_METHODS,
    access_token_signing_alg_values_supported: [SIGNING_ALG],
    service_documentation: `${base}/openapi.json`,
  };
  return (_req, res) => {
    // Public and cacheable, unlike every other answer under the OAuth prefixes.
    res.removeHeader('Pragma');
    res.set('Cache-Control', 'public, max-age=3600').json(answer);
  };
}
