// Who is calling, and what they may do with the customers resource. The principal and its
// permissions come from the store on every request (Sessions.authenticate re-reads them).
import type { Request } from 'express';
import type { AccessTokenClaims } from '../../core/access-tokens.js';
import { allows, type Action } from '../../core/permissions.js';
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
}

export async function caller(s: Services, req: Request): Promise<Caller> {
  const { claims, session } = await s.sessions.authenticate(bearerToken(req), mahoPolicy(s.config), clientInfo(req));
  return { claims, session, principal: session.principal };
}

export const FORBIDDEN = () => new DialectError(403, 'Access denied', 'forbidden');
export const NOT_FOUND = () => new DialectError(404, 'Customer not found', 'not_found');

/** Admin level: an admin user's customer token, or a service token with the permission. */
export function mayAdminister(p: Principal, action: Action): boolean {
  return p.kind === 'user' ? p.user.role === 'admin' : allows(p.service.permissions, 'customers', action);
}

/** Customer level: the caller must be a customer (not a service principal). */
export function customerOf(c: Caller): User {
  if (c.principal.kind !== 'user') throw FORBIDDEN();
  return c.principal.user;
}
