// GET /docs: the API reference page (Swagger UI), served with everything it loads from this
// server, so it works offline and its Content-Security-Policy can forbid every other origin.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type RequestHandler } from 'express';
import helmet from 'helmet';

const swaggerUiDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));

/** The files the page loads: name in /docs/assets/{asset} → file and Content-Type. */
const ASSETS: ReadonlyMap<string, { file: string; type: string }> = new Map([
  ['swagger-ui-bundle.js', { file: join(swaggerUiDir, 'swagger-ui-bundle.js'), type: 'text/javascript; charset=utf-8' }],
  ['swagger-ui.css', { file: join(swaggerUiDir, 'swagger-ui.css'), type: 'text/css; charset=utf-8' }],
  ['docs.js', { file: fileURLToPath(new URL('docs-page/docs.js', import.meta.url)), type: 'text/javascript; charset=utf-8' }],
]);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gatehouse API reference</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="docs"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs.js"></script>
</body>
</html>
`;

/**
 * The narrowest policy Swagger UI works under: its script, styles and requests from this
 * origin only (no inline script or style, no eval), and images from data: URLs, which its
 * stylesheet uses for icons.
 */
const pagePolicy = helmet({
  // The page is the one HTML document here, so it also gets helmet's document headers
  // (Cross-Origin-Opener-Policy, Origin-Agent-Cluster, ...) that the JSON answers go without.
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'none'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ['data:'],
      connectSrc: ["'self'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
      frameAncestors: ["'none'"],
    },
  },
  xFrameOptions: { action: 'deny' },
});

const page: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-cache');
  res.type('html').send(PAGE);
};

const asset: RequestHandler = (req, res, next) => {
  const found = ASSETS.get(String(req.params.asset));
  if (!found) return next(); // the final 404
  res.set('Content-Type', found.type);
  res.sendFile(found.file, { maxAge: '1h', etag: false, lastModified: true }, (err) => err && next(err));
};

export function docsRouter(): Router {
  return Router({ caseSensitive: true }).get('/docs', pagePolicy, page).get('/docs/assets/:asset', asset);
}
