import type { RequestHandler } from 'express';
import { JWKS_MAX_AGE_S } from '../core/keys.js';
import type { Services } from '../services.js';

/**
 * GET /.well-known/jwks.json — the public keys; cacheable for a few minutes. A rotation
 * publishes its new key at least JWKS_MAX_AGE_S before it signs (KEY_ROTATION_DELAY_S).
 */
export function jwks(s: Services): RequestHandler {
  return async (_req, res) => {
    const body = await s.keys.currentJwks();
    res.set('Cache-Control', `public, max-age=${JWKS_MAX_AGE_S}`);
    res.json(body);
  };
}
