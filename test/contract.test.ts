// The contract itself: every operation is documented the way the project promises, so the
// docs page, the generated client and the Prism mock all have something real to show.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const doc: Json = JSON.parse(readFileSync(new URL('../generated/openapi.json', import.meta.url), 'utf8'));
const pkg: Json = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

const deref = (node: Json): Json => {
  if (!node?.$ref) return node;
  const path = (node.$ref as string).replace(/^#\//, '').split('/');
  return deref(path.reduce((n: Json, key) => n[key], doc));
};

const operations = Object.entries(doc.paths as Json).flatMap(([path, item]) =>
  Object.entries(item as Json)
    .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
    .map(([method, op]) => ({ path, method, op: op as Json })),
);

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and its version follows package.json', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.version).toBe(pkg.version);
  });

  it('has a CHANGELOG.md section for the package.json version, and one for unreleased work', () => {
    const changelog = readFileSync(new URL('../CHANGELOG.md', import.meta.url), 'utf8');
    const headings = [...changelog.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$/gm)].map((m) => m[1]);
    expect(headings).toContain(pkg.version);
    expect(headings[0]).toBe('Unreleased');
  });

  it.each(operations.map((o) => [`${o.method.toUpperCase()} ${o.path}`, o]))(
    '%s has an id, a summary, a description, tags, security, and X-Request-Id and a named example for every response',
    (_name, { op }) => {
      expect(op.operationId).toBeTruthy();
      expect(op.summary).toBeTruthy();
      expect(op.description?.length).toBeGreaterThan(40);
      expect(op.tags?.length).toBeGreaterThan(0);
      expect(Array.isArray(op.security)).toBe(true);
      for (const [status, raw] of Object.entries(op.responses as Json)) {
        const response = deref(raw as Json);
        // Every answer names its request for the logs (src/http/logging.ts); Prism's proxy in
        // the contract fuzz test checks that the server really sends it.
        expect(deref(response.headers?.['X-Request-Id'] ?? {}), `${status} declares X-Request-Id`).toEqual(doc.components.headers.XRequestId);
        // JSON everywhere except System operations: /metrics (Prometheus text), the docs page and its assets.
        const media = Object.entries((response.content ?? {}) as Json);
        expect(media.length, `${status} has a body`).toBeGreaterThan(0);
        if (!op.tags.includes('System')) expect(media.map(([type]) => type), `${status} is JSON`).toEqual(['application/json']);
        for (const [type, body] of media) {
          expect(body.schema, `${status} ${type} has a schema`).toBeTruthy();
          expect(Object.keys(body.examples ?? {}).length, `${status} ${type} has named examples`).toBeGreaterThan(0);
        }
      }
    },
  );
});
