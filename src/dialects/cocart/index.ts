// The CoCart JWT dialect: login, refresh-token, validate-token, logout under /wp-json/cocart.
import { Router } from 'express';
import { reportedLogin, reportedRefresh } from '../../http/auth-events.js';
import type { Dialect } from '../../http/dialect.js';
import type { Services } from '../../services.js';
import { renderError } from './errors.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { refreshToken } from './refresh-token.js';
import { validateToken } from './validate-token.js';
import { cocartPolicy } from './policy.js';

export const cocart: Dialect = {
  name: 'cocart',
  prefixes: ['/wp-json/cocart'],
  policy: cocartPolicy,
  router(s: Services) {
    return Router({ caseSensitive: true })
      .post('/wp-json/cocart/v2/login', reportedLogin(s, 'cocart', login(s)))
      .post('/wp-json/cocart/jwt/refresh-token', reportedRefresh(s, 'cocart', refreshToken(s)))
      .post('/wp-json/cocart/jwt/validate-token', validateToken(s))
      .post('/wp-json/cocart/v2/logout', logout(s));
  },
  renderError,
};
