import type { Request, RequestHandler } from 'express';
import type { MahoTokenRequest, MahoTokenResponse } from '../../../generated/client/types.gen.js';
import type { LoginGrant } from '../../core/events.js';
import type { ServiceKind } from '../../core/service-principals.js';
import { DialectError } from '../../http/http-errors.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { mahoPolicy } from './policy.js';
import { issueAccessToken, tokenAnswer } from './tokens.js';

const GRANTS = ['customer', 'client_credentials', 'api_user'] as const;

const invalid = (message: string) => new DialectError(400, message, 'invalid_request');

/** The named fields, trimmed; a missing or blank one is an invalid_request naming them all. */
function required(body: MahoTokenRequest, names: Array<keyof MahoTokenRequest>, label = names.join(' and ')): string[] {
  const values = names.map((n) => (typeof body[n] === 'string' ? body[n].trim() : ''));
  if (values.some((v) => v === '')) throw invalid(`${label} are required`);
  return values;
}

/** The grant a token request uses, for reporting (customer: a password). */
export function tokenGrant(req: Request): LoginGrant {
  const grant = ((req.body ?? {}) as MahoTokenRequest).grant_type?.trim() || 'customer';
  if (grant === 'customer') return 'password';
  return grant === 'client_credentials' || grant === 'api_user' ? grant : 'unsupported';
}

/** POST /api/rest/v2/auth/token — dispatches on grant_type (default: customer). */
export function token(s: Services): RequestHandler {
  const policy = mahoPolicy(s.config);
  const ttl = s.config.maho.accessTokenTtlS;
  return async (req: Request, res) => {
    const body = (req.body ?? {}) as MahoTokenRequest;
    const grant = body.grant_type?.trim() || 'customer';
    const client = clientInfo(req);
    let answer: MahoTokenResponse;
    if (grant === 'customer') {
      const login = body.email?.trim() || body.username?.trim() || '';
      // The email's format is checked by the contract (the same check as registration).
      if (!login || !body.password?.trim()) throw invalid('email (or username) and password are required');
      const user = await s.passwordLogin.check(login, body.password, client, { email: true, phone: false });
      const session = await s.sessions.open({ kind: 'user', user }, policy, client);
      const access = await issueAccessToken(s, policy, session);
      answer = {
        ...tokenAnswer(access.token, ttl),
        customer: { id: user.id, email: user.email, firstName: user.firstName, lastName: user.lastName },
      };
    } else if (grant === 'client_credentials' || grant === 'api_user') {
      const [name, secret] =
        grant === 'client_credentials'
          ? required(body, ['client_id', 'client_secret'])
          : required(body, ['username', 'api_key']);
      const kind: ServiceKind = grant === 'client_credentials' ? 'api_client' : 'api_user';
      const service = await s.servicePrincipals.authenticate(kind, name!, secret!, client);
      // An API client is also an OAuth client, limited to the grants it was given; without
      // this check one given only `password` would get a service token here that /oauth/token
      // refuses it. Only after its secret, so only its owner learns why. API users have no
      // grant list (theirs is always empty): the api_user grant is all they have.
      if (service.kind === 'api_client' && !service.grantTypes.includes('client_credentials')) {
        s.audit.record({ event: 'access_denied', action: 'grant client_credentials', principalId: service.id }, client);
        throw new DialectError(400, 'This client may not use the client_credentials grant', 'unauthorized_client');
      }
      // An API client's session is issued to it, so no other OAuth client may revoke it (RFC 7009).
      const session = await s.sessions.open({ kind: 'service', service }, policy, client, {
        oauthClientId: service.kind === 'api_client' ? service.id : null,
      });
      const access = await issueAccessToken(s, policy, session);
      answer = {
        ...tokenAnswer(access.token, ttl),
        apiUser: { id: service.id, username: service.name },
        permissions: service.permissions,
      };
    } else {
      throw new DialectError(400, `Unsupported grant_type. Supported grants: ${GRANTS.join(', ')}`, 'unsupported_grant_type');
    }
    res.json(answer);
  };
}
