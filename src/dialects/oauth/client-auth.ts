// OAuth client authentication (RFC 6749 section 2.3.1): `client_secret_basic` (HTTP Basic
// with the form-encoded client_id and secret) or `client_secret_post` (both in the form),
// never both at once. Only API clients are OAuth clients; API users are not.
import type { Request } from 'express';
import { ErrorCode, GatehouseError } from '../../core/errors.js';
import type { ServicePrincipal } from '../../core/service-principals.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { oauthError } from './errors.js';

interface ClientCredentials {
  client_id?: string;
  client_secret?: string;
}

/** client_id and secret from an `Authorization: Basic` header; undefined if there is none. */
function basicCredentials(req: Request): { id: string; secret: string } | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  // Some other scheme (e.g. a stray Bearer token) is not client authentication at all.
  if (!m) {
    if (/^basic\b/i.test(header)) throw new GatehouseError(ErrorCode.InvalidClient, 'malformed Basic credentials');
    return undefined;
  }
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new GatehouseError(ErrorCode.InvalidClient, 'malformed Basic credentials');
  try {
    const formDecode = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new GatehouseError(ErrorCode.InvalidClient, 'malformed Basic credentials');
  }
}

/**
 * The API client making the request, or InvalidClient (401). Empty parameters count as
 * absent (RFC 6749 section 3.2). `refundIp`: a success gives its per-IP login attempt back,
 * so that only failures count there; for calls that are charged elsewhere (a password or a
 * refresh) or that resource servers make on every request of their own (introspection).
 */
export async function authenticateClient(
  s: Services,
  req: Request,
  body: ClientCredentials,
  opts: { refundIp: boolean },
): Promise<ServicePrincipal> {
  const basic = basicCredentials(req);
  const postedId = body.client_id || undefined;
  const postedSecret = body.client_secret || undefined;
  if (basic && (postedId !== undefined || postedSecret !== undefined)) {
    throw oauthError('invalid_request', 'Use one client authentication method, not both');
  }
  const id = basic?.id ?? postedId ?? '';
  const secret = basic?.secret ?? postedSecret ?? '';
  if (id === '' || secret === '') throw new GatehouseError(ErrorCode.InvalidClient, 'no client credentials');
  return s.servicePrincipals.authenticate('api_client', id, secret, clientInfo(req), { refundIp: opts.refundIp });
}
