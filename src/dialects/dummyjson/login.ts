import type { RequestHandler } from 'express';
import type { DummyjsonLoginForm, DummyjsonLoginRequest, DummyjsonLoginResponse } from '../../../generated/client/types.gen.js';
import { clientInfo } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { setAuthCookies } from './cookies.js';
import { dummyjsonPolicy } from './policy.js';
import { publicFields } from './profile.js';
import { issueAccessToken, parseExpiresInMins, secondsUntil } from './tokens.js';

/** POST /auth/login */
export function login(s: Services): RequestHandler {
  return async (req, res) => {
    const body = req.body as DummyjsonLoginRequest | DummyjsonLoginForm;
    const expiresInMins = parseExpiresInMins(body.expiresInMins);
    const client = clientInfo(req);
    const user = await s.passwordLogin.check(body.username, body.password, client);
    const issued = await s.sessions.start(user, dummyjsonPolicy, client);
    const access = await issueAccessToken(s, issued, expiresInMins);
    setAuthCookies(res, s.config, {
      accessToken: access.token,
      accessMaxAgeS: Math.round(expiresInMins * 60),
      refreshToken: issued.refreshToken,
      refreshMaxAgeS: secondsUntil(s, issued.refreshExpiresAt),
    });
    const answer: DummyjsonLoginResponse = {
      accessToken: access.token,
      refreshToken: issued.refreshToken,
      ...publicFields(user),
    };
    res.json(answer);
  };
}
