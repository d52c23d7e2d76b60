// Once per run: a new PGlite cluster, dumped to a file that every in-process test server on
// the embedded database starts from (test/helpers/gatehouse.ts). initdb takes most of a new
// in-memory database's start (about 1.5 s of 2.7 here), and the suite starts dozens. The dump
// is taken before anything touches the cluster, so each server still runs every migration.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of a fresh PGlite cluster's dump; empty on a PostgreSQL server run. */
    pgliteTemplate: string;
  }
}

export default async function setup(project: TestProject): Promise<() => void> {
  if (process.env.TEST_DATABASE_URL) {
    project.provide('pgliteTemplate', '');
    return () => undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-pglite-'));
  const file = join(dir, 'cluster.tar');
  const db = await PGlite.create();
  try {
    writeFileSync(file, Buffer.from(await (await db.dumpDataDir('none')).arrayBuffer()));
  } finally {
    await db.close();
  }
  project.provide('pgliteTemplate', file);
  return () => rmSync(dir, { recursive: true, force: true });
}
