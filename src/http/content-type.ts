// express-openapi-validator 5.6.2 compiles a validator for each (method, route, Content-Type)
// it sees, Content-Type parameters included, and keeps every one forever: a client sending
// `application/json; x=1`, `; x=2`, … made the process grow by about 140 KB and spend 15 ms
// of CPU per request (test/security/abuse.test.ts). The bodies are parsed before the
// validator runs, so their parameters (charset) no longer matter to it: it is shown only the
// media type, and only one the document declares; any other becomes one fixed placeholder,
// which every operation with a body refuses as unsupported (415) just as it refused the
// original. The validator's cache therefore holds at most routes × (declared types + 1).
import type { RequestHandler } from 'express';
import { apiDocument } from './openapi.js';

const UNDECLARED = 'application/x-undeclared';

export function canonicalContentType(doc: Readonly<Record<string, unknown>> = apiDocument): RequestHandler {
  const declared = new Set<string>();
  for (const item of Object.values(doc.paths as Record<string, Record<string, { requestBody?: { content?: object } }>>)) {
    for (const op of Object.values(item)) for (const type of Object.keys(op?.requestBody?.content ?? {})) declared.add(type.toLowerCase());
  }
  return (req, _res, next) => {
    const header = req.headers['content-type'];
    if (header !== undefined) {
      const media = header.split(';', 1)[0]!.trim().toLowerCase();
      req.headers['content-type'] = declared.has(media) ? media : UNDECLARED;
    }
    next();
  };
}
