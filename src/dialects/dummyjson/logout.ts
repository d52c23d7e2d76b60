import type { RequestHandler } from 'express';
import type { DummyjsonLogoutResponse } from '../../../generated/client/types.gen.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { clearAuthCookies } from './cookies.js';
import { accessTokenOf } from './me.js';
import { dummyjsonPolicy } from './policy.js';

/** POST /auth/logout — revokes the whole session: its access and refresh tokens die at once. */
export function logout(s: Services): RequestHandler {
  return async (req, res) => {
    const client = clientInfo(req);
    const { session } = await s.sessions.authenticateUser(accessTokenOf(req), dummyjsonPolicy, client);
    await s.sessions.revoke(session.sessionId, 'logout', { client, session });
    clearAuthCookies(res, s.config);
    const answer: DummyjsonLogoutResponse = { message: 'Logged out successfully' };
    res.json(answer);
  };
}
