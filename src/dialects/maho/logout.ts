import type { RequestHandler } from 'express';
import type { MahoSuccess } from '../../../generated/client/types.gen.js';
import type { Services } from '../../services.js';
import { caller } from './auth.js';

/** POST /api/rest/v2/auth/logout — revokes the presented token (its session). */
export function logout(s: Services): RequestHandler {
  return async (req, res) => {
    const { session, client } = await caller(s, req);
    await s.sessions.revoke(session.sessionId, 'logout', { client, session });
    const answer: MahoSuccess = { success: true, message: 'Successfully logged out' };
    res.json(answer);
  };
}
