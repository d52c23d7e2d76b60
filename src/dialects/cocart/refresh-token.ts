import type { RequestHandler } from 'express';
import type { CocartRefreshRequest, CocartTokenPair } from '../../../generated/client/types.gen.js';
import { DialectError } from '../../http/http-errors.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { cocartPolicy } from './policy.js';
import { issueAccessToken } from './tokens.js';

/**
 * POST /wp-json/cocart/jwt/refresh-token — the Authorization header is never read here, so a
 * stale Bearer token sent along cannot block the refresh.
 */
export function refreshToken(s: Services): RequestHandler {
  const policy = cocartPolicy(s.config);
  return async (req, res) => {
    const body = (req.body ?? {}) as CocartRefreshRequest;
    const query = req.query as { refresh_token?: string };
    const token = body.refresh_token || query.refresh_token;
    if (!token) throw new DialectError(403, 'Refresh token is required.', 'cocart_jwt_auth_missing_refresh_token');
    const client = clientInfo(req);
    const issued = await s.sessions.rotate(token, policy, client);
    const access = await issueAccessToken(s, policy, issued, client);
    const answer: CocartTokenPair = { token: access.token, refresh_token: issued.refreshToken };
    res.json(answer);
  };
}
