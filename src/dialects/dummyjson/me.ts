import type { Request, RequestHandler } from 'express';
import type { DummyjsonUser } from '../../../generated/client/types.gen.js';
import type { User } from '../../core/users.js';
import { bearerToken, clientInfo, cookie } from '../../http/request-context.js';
import type { Services } from '../../services.js';
import { dummyjsonPolicy } from './policy.js';

/** The access token: the Authorization header wins, else the accessToken cookie. */
export function accessTokenOf(req: Request): string | undefined {
  return bearerToken(req) ?? cookie(req, 'accessToken');
}

export function profile(u: User): DummyjsonUser {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    firstName: u.firstName,
    lastName: u.lastName,
    gender: u.gender,
    image: u.image,
    ...(u.phone !== null && { phone: u.phone }),
    ...(u.birthDate !== null && { birthDate: u.birthDate }),
    role: u.role,
  };
}

/** GET /auth/me */
export function me(s: Services): RequestHandler {
  return async (req, res) => {
    const { user } = await s.sessions.authenticateUser(accessTokenOf(req), dummyjsonPolicy, clientInfo(req));
    res.json(profile(user));
  };
}
