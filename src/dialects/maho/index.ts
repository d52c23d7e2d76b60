// The Maho REST v2 dialect: auth (token, refresh, logout) and the customers resource.
import { Router } from 'express';
import { reportedLogin, reportedRefresh } from '../../http/auth-events.js';
import type { Dialect } from '../../http/dialect.js';
import type { Services } from '../../services.js';
import { getOne, list, register, remove } from './customers.js';
import { changePassword, getMe, updateMe } from './customers-me.js';
import { renderError } from './errors.js';
import { logout } from './logout.js';
import { refresh } from './refresh.js';
import { mahoPolicy } from './policy.js';
import { token, tokenGrant } from './token.js';

export const maho: Dialect = {
  name: 'maho',
  prefixes: ['/api/rest/v2'],
  policy: mahoPolicy,
  router(s: Services) {
    return Router({ caseSensitive: true })
      .post('/api/rest/v2/auth/token', reportedLogin(s, 'maho', token(s), tokenGrant))
      .post('/api/rest/v2/auth/refresh', reportedRefresh(s, 'maho', refresh(s)))
      .post('/api/rest/v2/auth/logout', logout(s))
      .post('/api/rest/v2/customers', register(s))
      .get('/api/rest/v2/customers', list(s))
      .get('/api/rest/v2/customers/me', getMe(s))
      .patch('/api/rest/v2/customers/me', updateMe(s))
      .post('/api/rest/v2/customers/me/password', changePassword(s))
      .get('/api/rest/v2/customers/:id', getOne(s))
      .delete('/api/rest/v2/customers/:id', remove(s));
  },
  renderError,
};
