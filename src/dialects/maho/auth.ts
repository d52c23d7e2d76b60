// Who is calling, and what they may do with the customers resource. The principal and its
// permissions come from the store on every request (Sessions.authenticate re-reads them).
import type { Request } from 'express';
import type { AccessTokenClaims } from '../../core/access-tokens.js';
import { allows, type Action } from '../../core/permissions.js';
import type { ClientInfo } from '../../core/sessions.js';
import type { User } from '../../core/users.js';
import { DialectError } from '../../http/http-errors.js';
import { bearerToken, clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import type { Principal, SessionAuthState } from '../../store/sessions.js';
import { mahoPolicy } from './policy.js';

export interface Caller {
  claims: AccessTokenClaims;
  session: SessionAuthState;
  principal: Principal;
  client: ClientInfo;
}

export async function caller(s: Services, req: Request): Promise<Caller> {
  const client = clientInfo(req);
  const { claims, session } = await s.sessions.authenticate(bearerToken(req), mahoPolicy(s.config), client);
  return { claims, session, principal: session.principal, client };
}

export const FORBIDDEN = () => new DialectError(403, 'Access denied', 'forbidden');
export const NOT_FOUND = () => new DialectError(404, 'Customer not found', 'not_found');

/**
 * The refusal `answer` (403, or 404 where a 403 would confirm that a record exists) of a
 * caller without the permission for `action`, recorded in the audit trail: a customer
 * trying other ids, or an integration reaching past its permissions, is worth knowing of.
 */
export function denied(s: Services, c: Caller, action: string, answer: () => DialectError, targetUserId?: number): DialectError {
  const who = c.principal.kind === 'user' ? { userId: c.principal.user.id } : { principalId: c.principal.service.id };
  s.audit.record({ event: 'access_denied', action, ...who, targetUserId }, c.client);
  return answer();
}

/** Admin level: an admin user's customer token, or a service token with the permission. */
export function mayAdminister(p: Principal, action: Action): boolean {
  return p.kind === 'user' ? p.user.role === 'admin' : allows(p.service.permissions, 'customers', action);
}

/** Customer level: the caller must be a customer (not a service principal). */
export function customerOf(s: Services, c: Caller): User {
  if (c.principal.kind !== 'user') throw denied(s, c, 'customers/me', FORBIDDEN);
  return c.principal.user;
}
