// /api/rest/v2/customers/me and /api/rest/v2/customers/me/password — customer level.
import type { RequestHandler } from 'express';
import type { MahoCustomerUpdate, MahoPasswordChange, MahoSuccess } from '../../../generated/client/types.gen.js';
import { ErrorCode, isGatehouseError } from '../../core/errors.js';
import { DialectError } from '../../http/http-errors.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { caller, customerOf, NOT_FOUND } from './auth.js';
import { customer } from './present.js';

/** GET /api/rest/v2/customers/me */
export function getMe(s: Services): RequestHandler {
  return async (req, res) => {
    res.json(customer(customerOf(s, await caller(s, req))));
  };
}

/** PATCH /api/rest/v2/customers/me */
export function updateMe(s: Services): RequestHandler {
  return async (req, res) => {
    const me = customerOf(s, await caller(s, req));
    const body = req.body as MahoCustomerUpdate;
    const updated = await s.accounts.update(
      me.id,
      { email: body.email?.trim(), firstName: body.firstName?.trim(), lastName: body.lastName?.trim() },
      clientInfo(req),
    );
    if (!updated) throw NOT_FOUND();
    res.json(customer(updated));
  };
}

/** POST /api/rest/v2/customers/me/password — revokes the customer's other sessions. */
export function changePassword(s: Services): RequestHandler {
  return async (req, res) => {
    const c = await caller(s, req);
    const me = customerOf(s, c);
    const body = req.body as MahoPasswordChange;
    try {
      await s.accounts.changePassword(me, body.currentPassword, body.newPassword, c.session.sessionId, clientInfo(req));
    } catch (err) {
      // The caller is authenticated: a wrong current password is bad input, not a failed login.
      if (isGatehouseError(err, ErrorCode.InvalidCredentials)) {
        throw new DialectError(400, 'Current password is incorrect', 'invalid_request');
      }
      throw err;
    }
    const answer: MahoSuccess = { success: true, message: 'Password changed' };
    res.json(answer);
  };
}
