import type { RequestHandler } from 'express';
import type { Services } from '../services.js';

/** GET /.well-known/jwks.json — the public keys; cacheable for a few minutes. */
export function jwks(s: Services): RequestHandler {
  return (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300');
    res.json(s.keys.jwks());
  };
}
