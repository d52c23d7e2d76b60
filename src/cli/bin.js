#!/usr/bin/env node
// The `gatehouse` command (package.json "bin"): runs the TypeScript sources through tsx, as
// `npm start` does, so there is no build step. npm packs this file even into the client-only
// tarball (a package's bin always ships); there, without the sources, it says so and stops.
import { existsSync } from 'node:fs';

const main = new URL('./main.ts', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('gatehouse: the admin command line runs from a Gatehouse checkout or deployment (the server sources); this install has only the client.\n');
  process.exit(2);
}
const { register } = await import('tsx/esm/api');
register();
const { run } = await import(main.href);
process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
