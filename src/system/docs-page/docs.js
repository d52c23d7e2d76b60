// Starts Swagger UI on this server's own document. The only server offered for "Try it out"
// is the origin that served the page: the page's Content-Security-Policy lets it connect
// nowhere else, and the document's own `servers` (port 3000, the mock) may not be this one.
/* global SwaggerUIBundle */
(async () => {
  const root = document.getElementById('docs');
  try {
    const response = await fetch('/openapi.json', { headers: { Accept: 'application/json' } });
    if (!response.ok) throw new Error(`GET /openapi.json answered ${response.status}`);
    const spec = await response.json();
    spec.servers = [{ url: window.location.origin, description: 'This server' }];
    window.ui = SwaggerUIBundle({
      spec,
      domNode: root,
      // Every operation open, so each description (and its deliberate differences) is on the page.
      docExpansion: 'full',
      defaultModelsExpandDepth: 0,
      deepLinking: true,
      displayOperationId: true,
      displayRequestDuration: true,
      showExtensions: false,
      // Never send the document to an online validator, never load a document named in the URL.
      validatorUrl: null,
      queryConfigEnabled: false,
    });
  } catch (error) {
    root.textContent = `The API reference could not be loaded: ${error.message}`;
  }
})();
