import { Router } from 'express';
import type { Services } from '../services.js';
import { docsRouter } from './docs.js';
import { healthz } from './healthz.js';
import { jwks } from './jwks.js';
import { openapiJson } from './openapi-json.js';

export function systemRouter(s: Services): Router {
  return Router()
    .get('/healthz', healthz(s))
    .get('/openapi.json', openapiJson())
    .get('/.well-known/jwks.json', jwks(s))
    .use(docsRouter());
}
