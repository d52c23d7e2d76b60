import type { RequestHandler } from 'express';
import type { DummyjsonRefreshForm, DummyjsonRefreshRequest, DummyjsonTokenPair } from '../../../generated/client/types.gen.js';
import { clientInfo, cookie } from '../../http/request-context.js';
import { DialectError } from '../../http/http-errors.js';
import type { Services } from '../../services.js';
import { setAuthCookies } from './cookies.js';
import { MESSAGES } from './errors.js';
import { dummyjsonPolicy } from './policy.js';
import { issueAccessToken, parseExpiresInMins, secondsUntil } from './tokens.js';

/** POST /auth/refresh */
export function refresh(s: Services): RequestHandler {
  return async (req, res) => {
    const body = (req.body ?? {}) as DummyjsonRefreshRequest | DummyjsonRefreshForm;
    const expiresInMins = parseExpiresInMins(body.expiresInMins);
    const token = body.refreshToken || cookie(req, 'refreshToken');
    if (!token) throw new DialectError(401, MESSAGES.refreshTokenRequired);
    const client = clientInfo(req);
    const issued = await s.sessions.rotate(token, dummyjsonPolicy, client);
    const access = await issueAccessToken(s, issued, expiresInMins);
    setAuthCookies(res, s.config, {
      accessToken: access.token,
      accessMaxAgeS: Math.round(expiresInMins * 60),
      refreshToken: issued.refreshToken,
      refreshMaxAgeS: secondsUntil(s, issued.refreshExpiresAt),
    });
    const answer: DummyjsonTokenPair = { accessToken: access.token, refreshToken: issued.refreshToken };
    res.json(answer);
  };
}
