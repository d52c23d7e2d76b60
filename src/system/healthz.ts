import type { RequestHandler } from 'express';
import type { Services } from '../services.js';

/** GET /healthz — 200 while the database answers a query, 503 when it does not. */
export function healthz(s: Services): RequestHandler {
  return async (_req, res) => {
    try {
      await s.db.query('SELECT 1');
      res.json({ status: 'ok' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    }
  };
}
