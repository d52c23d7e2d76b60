import type { Request, RequestHandler } from 'express';
import { bearerToken, clientInfo, cookie } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { dummyjsonPolicy } from './policy.js';
import { profile } from './profile.js';

/** The access token: the Authorization header wins, else the accessToken cookie. */
export function accessTokenOf(req: Request): string | undefined {
  return bearerToken(req) ?? cookie(req, 'accessToken');
}

/** GET /auth/me */
export function me(s: Services): RequestHandler {
  return async (req, res) => {
    const { user } = await s.sessions.authenticateUser(accessTokenOf(req), dummyjsonPolicy, clientInfo(req));
    res.json(profile(user));
  };
}
