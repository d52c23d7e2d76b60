import type { RequestHandler } from 'express';
import { apiDocument } from '../http/openapi.js';

/** GET /openapi.json — the document the server validates against. */
export function openapiJson(): RequestHandler {
  return (_req, res) => {
    res.json(apiDocument);
  };
}
