import type { RequestHandler } from 'express';
import type { CocartLogoutForm, CocartLogoutRequest, CocartMessage } from '../../../generated/client/types.gen.js';
import { bearerToken, clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { cocartPolicy } from './policy.js';

/** POST /wp-json/cocart/v2/logout — this session, or with all_sessions every CoCart session of the user. */
export function logout(s: Services): RequestHandler {
  const policy = cocartPolicy(s.config);
  return async (req, res) => {
    const client = clientInfo(req);
    const { session, user } = await s.sessions.authenticateUser(bearerToken(req), policy, client);
    const all = ((req.body ?? {}) as CocartLogoutRequest | CocartLogoutForm).all_sessions;
    if (all === true || all === 'true' || all === '1') await s.sessions.revokeAllForUser(user.id, 'logout', { audience: policy.audience, client });
    else await s.sessions.revoke(session.sessionId, 'logout', { client, session });
    const answer: CocartMessage = { message: 'You are now logged out.' };
    res.json(answer);
  };
}
