import { Router } from 'express';
import type { Services } from '../services.js';
import { docsRouter } from './docs.js';
import { healthz } from './healthz.js';
import { jwks } from './jwks.js';
import { metrics } from './metrics.js';
import { openapiJson } from './openapi-json.js';
import { readyz } from './readyz.js';

export function systemRouter(s: Services, opts: { isDraining: () => boolean }): Router {
  return Router({ caseSensitive: true })
    .get('/healthz', healthz(s))
    .get('/readyz', readyz(s, opts.isDraining))
    .get('/metrics', metrics(s))
    .get('/openapi.json', openapiJson())
    .get('/.well-known/jwks.json', jwks(s))
    .use(docsRouter());
}
