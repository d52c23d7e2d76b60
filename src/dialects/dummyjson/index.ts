// The DummyJSON auth dialect: /auth/login, /auth/me, /auth/refresh, /auth/logout.
import { Router } from 'express';
import { reportedLogin, reportedRefresh } from '../../http/auth-events.js';
import type { Dialect } from '../../http/dialect.js';
import type { Services } from '../../services.js';
import { renderError } from './errors.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { me } from './me.js';
import { refresh } from './refresh.js';
import { dummyjsonPolicy } from './policy.js';

export const dummyjson: Dialect = {
  name: 'dummyjson',
  prefixes: ['/auth'],
  policy: () => dummyjsonPolicy,
  router(s: Services) {
    return Router({ caseSensitive: true })
      .post('/auth/login', reportedLogin(s, 'dummyjson', login(s)))
      .get('/auth/me', me(s))
      .post('/auth/refresh', reportedRefresh(s, 'dummyjson', refresh(s)))
      .post('/auth/logout', logout(s));
  },
  renderError,
};
