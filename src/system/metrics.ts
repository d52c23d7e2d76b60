import { timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { sha256Hex } from '../core/secrets.js';
import type { Services } from '../services.js';

/**
 * GET /metrics — this instance's Prometheus registry. With METRICS_TOKEN set, only a request
 * carrying it as a Bearer token gets them; the comparison is over SHA-256 digests, so it takes
 * the same time whatever the length or content of the guess.
 */
export function metrics(s: Services): RequestHandler {
  const expected = s.config.metricsToken === undefined ? undefined : Buffer.from(sha256Hex(s.config.metricsToken));
  return async (req, res) => {
    if (expected) {
      const given = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
      if (!timingSafeEqual(Buffer.from(sha256Hex(given)), expected)) {
        res.set('WWW-Authenticate', 'Bearer realm="metrics"');
        res.status(401).json({ message: 'A valid metrics token is required' });
        return;
      }
    }
    res.set('Content-Type', s.metrics.registry.contentType);
    res.send(await s.metrics.registry.metrics());
  };
}
