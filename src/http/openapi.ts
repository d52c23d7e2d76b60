// The contract at run time: the bundled document in generated/openapi.json (the same file
// hey-api and Prism read) drives express-openapi-validator. Requests are always validated;
// responses outside production unless VALIDATE_RESPONSES says otherwise.
import { readFileSync } from 'node:fs';
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';

const DOCUMENT_PATH = new URL('../../generated/openapi.json', import.meta.url);

/** The API document as served at GET /openapi.json, parsed once. */
export const apiDocument: Readonly<Record<string, unknown>> = JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8'));

export function openApiValidator(opts: { validateResponses: boolean }): RequestHandler[] {
  return OpenApiValidator.middleware({
    // The validator deletes components.examples from the document it is given: give it a copy.
    apiSpec: structuredClone(apiDocument) as never,
    // Unknown query parameters are ignored, as the original APIs do (cache-busters like ?_=1).
    validateRequests: { allErrors: false, allowUnknownQueryParameters: true },
    validateResponses: opts.validateResponses ? { allErrors: false } : false,
    // Each dialect authenticates itself, so that auth failures come out in its own format.
    validateSecurity: false,
    validateApiSpec: false,
    ignoreUndocumented: false,
  }) as RequestHandler[];
}
