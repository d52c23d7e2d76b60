import type { SessionPolicy } from '../../core/sessions.js';

/** Tokens of this dialect carry this audience and are refused everywhere else. */
export const DUMMYJSON_AUDIENCE = 'gatehouse:dummyjson';

/** The longest access token a client may ask for with `expiresInMins` (30 days, as the original). */
export const MAX_EXPIRES_IN_MINS = 43_200;

export const dummyjsonPolicy: SessionPolicy = {
  audience: DUMMYJSON_AUDIENCE,
  refreshTokenFormat: 'base64url-256',
  // Like OAuth 2 and unlike CoCart: older access tokens stay valid until their short expiry,
  // so one tab's refresh does not sign out another tab that still holds the old access token.
  revokeAccessOnRefresh: false,
  // Tabs of one browser share the refresh cookie and may refresh at the same moment.
  concurrentRefreshGrace: true,
  bindUserAgent: false,
  bindIp: false,
};
