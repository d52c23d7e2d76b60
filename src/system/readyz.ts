import type { RequestHandler } from 'express';
import type { Services } from '../services.js';

/** How long the database may take to answer before this instance says it is not ready. */
export const READINESS_TIMEOUT_MS = 1_000;

/**
 * GET /readyz — 200 while this instance can serve: its database answers within
 * READINESS_TIMEOUT_MS, it is not shutting down, and it can open every signing key in service
 * (another instance may have sealed one with a KEY_ENCRYPTION_KEY this one lacks). A load
 * balancer polling it stops sending to an instance that could not serve.
 */
export function readyz(s: Services, isDraining: () => boolean): RequestHandler {
  return async (_req, res) => {
    if (isDraining()) return void res.status(503).json({ status: 'draining' });
    if (s.keys.unopenedKeys().length > 0) return void res.status(503).json({ status: 'unavailable' });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('database timeout')), READINESS_TIMEOUT_MS);
    });
    try {
      await Promise.race([s.db.query('SELECT 1'), timeout]);
      res.json({ status: 'ready' });
    } catch {
      res.status(503).json({ status: 'unavailable' });
    } finally {
      clearTimeout(timer);
    }
  };
}
