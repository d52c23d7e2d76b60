// @hey-api/openapi-ts configuration (npm run generate): types, zod schemas and a fetch SDK
// generated from the bundled document, so the client, the server and the mock read one file.
import { defineConfig } from '@hey-api/openapi-ts';

export default defineConfig({
  // hey-api needs the leading ./ to treat the input as a local path.
  input: './generated/openapi.json',
  output: {
    path: './generated/client',
    module: { extension: '.js' },
  },
  plugins: [
    '@hey-api/client-fetch',
    '@hey-api/typescript',
    { name: 'zod', metadata: false },
    { name: '@hey-api/sdk', validator: false },
  ],
});
