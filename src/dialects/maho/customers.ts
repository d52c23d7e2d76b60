// /api/rest/v2/customers and /api/rest/v2/customers/{id}
import type { RequestHandler } from 'express';
import type { MahoCustomerList, MahoCustomerRegistration, MahoSuccess } from '../../../generated/client/types.gen.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { caller, denied, FORBIDDEN, mayAdminister, NOT_FOUND } from './auth.js';
import { customer } from './present.js';

/** POST /api/rest/v2/customers — public registration. */
export function register(s: Services): RequestHandler {
  return async (req, res) => {
    const body = req.body as MahoCustomerRegistration;
    const user = await s.accounts.register(
      { email: body.email.trim(), password: body.password, firstName: body.firstName.trim(), lastName: body.lastName.trim() },
      clientInfo(req),
    );
    res.status(201).json(customer(user));
  };
}

/** GET /api/rest/v2/customers — admin or customers/read. */
export function list(s: Services): RequestHandler {
  return async (req, res) => {
    const c = await caller(s, req);
    if (!mayAdminister(c.principal, 'read')) throw denied(s, c, 'customers/read', FORBIDDEN);
    const page = Number(req.query.page ?? 1);
    const pageSize = Number(req.query.pageSize ?? 20);
    const { users, total } = await s.accounts.list(page, pageSize);
    const answer: MahoCustomerList = { items: users.map(customer), page, pageSize, total };
    res.json(answer);
  };
}

/**
 * GET /api/rest/v2/customers/{id} — admin or customers/read; a customer may read their own
 * record, and gets 404 (not 403) for anyone else's, so other ids are not confirmed.
 */
export function getOne(s: Services): RequestHandler {
  return async (req, res) => {
    const c = await caller(s, req);
    const id = Number(req.params.id);
    const own = c.principal.kind === 'user' && c.principal.user.id === id;
    if (!own && !mayAdminister(c.principal, 'read')) throw denied(s, c, 'customers/read', c.principal.kind === 'user' ? NOT_FOUND : FORBIDDEN, id);
    const found = await s.accounts.get(id);
    if (!found) throw NOT_FOUND();
    res.json(customer(found));
  };
}

/** DELETE /api/rest/v2/customers/{id} — admin or customers/delete; the customer's tokens die with them. */
export function remove(s: Services): RequestHandler {
  return async (req, res) => {
    const c = await caller(s, req);
    const { principal } = c;
    const id = Number(req.params.id);
    if (!mayAdminister(principal, 'delete')) {
      throw denied(s, c, 'customers/delete', principal.kind === 'user' && principal.user.id !== id ? NOT_FOUND : FORBIDDEN, id);
    }
    const target = await s.accounts.get(id);
    if (!target) throw NOT_FOUND();
    // Staff accounts are not an integration's to delete: that takes an admin or `all`.
    if (target.role !== 'user' && principal.kind === 'service' && !principal.service.permissions.includes('all')) {
      throw denied(s, c, 'customers/delete (staff)', FORBIDDEN, id);
    }
    if (!(await s.accounts.delete(id, { principal, client: c.client }))) throw NOT_FOUND();
    const answer: MahoSuccess = { success: true, message: 'Customer deleted' };
    res.json(answer);
  };
}
