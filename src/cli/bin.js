#!/usr/bin/env node
// The `gatehouse` command (package.json "bin"): runs the TypeScript sources through tsx, as
// `npm start` does, so there is no build step.
import { register } from 'tsx/esm/api';

register();
const { run } = await import('./main.ts');
process.exitCode = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
});
