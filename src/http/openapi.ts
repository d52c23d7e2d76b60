// The contract at run time: the bundled document in generated/openapi.json (the same file
// hey-api and Prism read) drives express-openapi-validator. Requests are always validated;
// responses outside production unless VALIDATE_RESPONSES says otherwise.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { RequestHandler } from 'express';
import * as OpenApiValidator from 'express-openapi-validator';
import type { OpenApiRequest } from 'express-openapi-validator/dist/framework/types.js';

/**
 * express-openapi-validator 5.6.2 finds a request's route by calling path-to-regexp's
 * `pathToRegexp()` for every documented path on every request, compiling the same regexes
 * again each time: measured at about 10 % of the CPU of GET /auth/me. The compile is a pure
 * function of (path, options), so it is memoized here, once, on the very copy of
 * path-to-regexp the validator loads. The memo holds one entry per documented path.
 */
function memoizeValidatorRouteCompilation(): void {
  const require = createRequire(createRequire(import.meta.url).resolve('express-openapi-validator'));
  const ptr = require('path-to-regexp') as { pathToRegexp: (path: string, opts?: object) => unknown; memoized?: true };
  if (ptr.memoized) return;
  const compile = ptr.pathToRegexp;
  const memo = new Map<string, unknown>();
  // The validator passes { sensitive, strict } on every call (many times per request), so the
  // key is built from those without JSON.stringify; any other options keep the general key.
  const optionsKey = (opts: Record<string, unknown> | undefined): string => {
    if (opts === undefined) return '';
    const names = Object.keys(opts);
    if (names.length === 2 && typeof opts.sensitive === 'boolean' && typeof opts.strict === 'boolean') {
      return opts.sensitive ? (opts.strict ? 'ss' : 's-') : opts.strict ? '-s' : '--';
    }
    return JSON.stringify(opts);
  };
  ptr.pathToRegexp = (path, opts) => {
    if (typeof path !== 'string') return compile(path, opts); // other callers' arrays and token data
    const key = `${path}\u0000${optionsKey(opts as Record<string, unknown> | undefined)}`;
    let compiled = memo.get(key);
    if (compiled === undefined) memo.set(key, (compiled = compile(path, opts)));
    return compiled;
  };
  ptr.memoized = true;
}

memoizeValidatorRouteCompilation();

const DOCUMENT_PATH = new URL('../../generated/openapi.json', import.meta.url);

/** The API document as served at GET /openapi.json, parsed once. */
export const apiDocument: Readonly<Record<string, unknown>> = JSON.parse(readFileSync(DOCUMENT_PATH, 'utf8'));

export function openApiValidator(opts: { validateResponses: boolean }): RequestHandler[] {
  const middlewares = OpenApiValidator.middleware({
    // The validator deletes components.examples from the document it is given: give it a copy.
    apiSpec: structuredClone(apiDocument) as never,
    // Unknown query parameters are ignored, as the original APIs do (cache-busters like ?_=1).
    validateRequests: { allErrors: false, allowUnknownQueryParameters: true },
    validateResponses: opts.validateResponses ? { allErrors: false } : false,
    // Each dialect authenticates itself, so that auth failures come out in its own format.
    validateSecurity: false,
    validateApiSpec: false,
    ignoreUndocumented: false,
    // No operation takes multipart bodies (and canonicalContentType turns any undeclared type
    // into a 415 before this), so multer is not installed at all.
    fileUploader: false,
  }) as RequestHandler[];
  // With validateSecurity off, 5.6.2's security middleware only waits for a promise and calls
  // next(): one more layer and microtask hop on every request, so it is left out.
  return middlewares
    .filter((m) => m.name !== 'securityMiddleware')
    .map((m) => (m.name === 'pathParamsMiddleware' ? untilFirstPass(m) : m.name === 'metadataMiddleware' ? rememberingRoutes(m) : m));
}

/**
 * The validator's first step installs `app.param` handlers on the first request and, from
 * then on, only waits for an already settled promise and calls next(): after one request
 * that it let through, it is skipped. (It fails only if the document did not load, which
 * would fail that first request already.)
 */
function untilFirstPass(step: RequestHandler): RequestHandler {
  let passed = false;
  return (req, res, next) => {
    if (passed) return next();
    step(req, res, (err?: unknown) => {
      if (err === undefined) passed = true;
      next(err);
    });
  };
}

type OpenApiMetadata = NonNullable<OpenApiRequest['openapi']>;
/** More distinct keys than this cannot come from the contract's paths: stop remembering. */
const MAX_REMEMBERED_ROUTES = 1_000;

/**
 * The validator's metadata step finds a request's operation by trying every documented path
 * in turn, on every request (5.6.2's lookupRoute): about a fifth of its cost per request.
 * Which operation a method and path belong to never changes, so the step's answer
 * (`req.openapi`, part of the validator's API) is remembered per method and path and handed
 * out again, as a copy. Only for paths without parameters: those answers carry nothing of the
 * request, and there are at most two paths (with and without a trailing slash) per operation,
 * so clients cannot grow the map. Everything else, errors (404, 405) included, goes to the
 * validator's own step as before.
 */
function rememberingRoutes(step: RequestHandler): RequestHandler {
  const remembered = new Map<string, OpenApiMetadata>();
  return (req, res, next) => {
    // The very key lookupRoute matches on: the path of the original URL.
    const key = `${req.method} ${req.originalUrl.split('?', 1)[0]}`;
    const known = remembered.get(key);
    if (known) {
      const pathParams = {};
      (req as OpenApiRequest).openapi = { ...known, pathParams };
      req.params = pathParams;
      return next();
    }
    step(req, res, (err?: unknown) => {
      const found = (req as OpenApiRequest).openapi;
      if (err === undefined && found && Object.keys(found.pathParams).length === 0 && remembered.size < MAX_REMEMBERED_ROUTES) {
        remembered.set(key, { ...found });
      }
      next(err);
    });
  };
}

/** What an operation's contract says of the request body: none at all, optional or required. */
export type RequestBodyRule = 'none' | 'optional' | 'required';

/**
 * The request-body rule of the operation a method and path belong to (undefined for paths and
 * methods the contract does not have). Templated paths (/customers/{id}) match any single
 * segment in place of a parameter; a trailing slash is the same operation, as for the
 * validator and Express's routing.
 */
export function requestBodyRules(doc: Readonly<Record<string, unknown>> = apiDocument): (method: string, path: string) => RequestBodyRule | undefined {
  const exact = new Map<string, RequestBodyRule>();
  const templated: Array<{ method: string; pattern: RegExp; rule: RequestBodyRule }> = [];
  const paths = doc.paths as Record<string, Record<string, { requestBody?: { required?: boolean } }>>;
  for (const [path, item] of Object.entries(paths)) {
    for (const method of ['post', 'put', 'patch', 'delete']) {
      const op = item[method];
      if (!op) continue;
      // Optional only when `required: false` is written out: the validator (5.6.2's
      // BodySchemaParser) lets a request without Content-Type through only then.
      const rule: RequestBodyRule = !op.requestBody ? 'none' : op.requestBody.required === false ? 'optional' : 'required';
      const m = method.toUpperCase();
      if (!path.includes('{')) exact.set(`${m} ${path}`, rule);
      else {
        const source = path.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&')).join('[^/]+');
        templated.push({ method: m, pattern: new RegExp(`^${source}$`), rule });
      }
    }
  }
  return (method, path) => {
    if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
    return exact.get(`${method} ${path}`) ?? templated.find((t) => t.method === method && t.pattern.test(path))?.rule;
  };
}
