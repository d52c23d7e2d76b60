import type { RequestHandler } from 'express';
import type { MahoRefreshResponse } from '../../../generated/client/types.gen.js';
import { ErrorCode, GatehouseError } from '../../core/errors.js';
import type { Services } from '../../services.js';
import { caller } from './auth.js';
import { mahoPolicy } from './policy.js';
import { issueAccessToken, tokenAnswer } from './tokens.js';

/**
 * POST /api/rest/v2/auth/refresh — the current customer token buys the next one and dies.
 * Service principals authenticate again instead.
 */
export function refresh(s: Services): RequestHandler {
  const policy = mahoPolicy(s.config);
  return async (req, res) => {
    const { claims, session, principal } = await caller(s, req);
    if (principal.kind !== 'user') throw new GatehouseError(ErrorCode.TokenInvalid, 'service tokens are not renewed');
    const next = await s.sessions.reissue(session, claims.gen);
    const access = await issueAccessToken(s, policy, next);
    const answer: MahoRefreshResponse = tokenAnswer(access.token, s.config.maho.accessTokenTtlS);
    res.json(answer);
  };
}
