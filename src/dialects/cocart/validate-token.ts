import type { RequestHandler } from 'express';
import type { CocartMessage } from '../../../generated/client/types.gen.js';
import { bearerToken, clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { cocartPolicy } from './policy.js';

/** POST /wp-json/cocart/jwt/validate-token */
export function validateToken(s: Services): RequestHandler {
  const policy = cocartPolicy(s.config);
  return async (req, res) => {
    await s.sessions.authenticateUser(bearerToken(req), policy, clientInfo(req));
    const answer: CocartMessage = { message: 'Token is valid.' };
    res.json(answer);
  };
}
