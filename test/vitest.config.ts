import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Each file starts its own server and in-memory database.
    pool: 'forks',
    // A worker runs its files one after another in one process, so each file does not import
    // the server and compile PGlite's WebAssembly anew (about a minute of CPU over the suite
    // here). The code keeps no global state, and every file starts its own servers.
    isolate: false,
    // A file spends much of its time waiting for the servers and command-line processes it
    // started; vitest's default (one file per core but one) ran one file at a time on 2 cores.
    // At most 8: each file may hold a few servers' connections on a PostgreSQL run (CI allows 300).
    maxWorkers: Math.min(availableParallelism() + 1, 8),
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { NODE_ENV: 'test' },
  },
});
