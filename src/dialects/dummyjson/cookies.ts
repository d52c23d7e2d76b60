import type { CookieOptions, Response } from 'express';
import type { Config } from '../../config.js';

function base(config: Config): CookieOptions {
  return { httpOnly: true, secure: config.cookieSecure, sameSite: config.cookieSameSite, path: '/' };
}

/** Sets `accessToken` and `refreshToken`, each with its own real lifetime. */
export function setAuthCookies(
  res: Response,
  config: Config,
  t: { accessToken: string; accessMaxAgeS: number; refreshToken: string; refreshMaxAgeS: number },
): void {
  res.cookie('accessToken', t.accessToken, { ...base(config), maxAge: t.accessMaxAgeS * 1000 });
  res.cookie('refreshToken', t.refreshToken, { ...base(config), maxAge: t.refreshMaxAgeS * 1000 });
}

export function clearAuthCookies(res: Response, config: Config, opts: { keepRefresh?: boolean } = {}): void {
  res.clearCookie('accessToken', base(config));
  if (!opts.keepRefresh) res.clearCookie('refreshToken', base(config));
}
