/**
 * vitest globalSetup: one private PostgreSQL cluster for the whole test run,
 * shared by every suite through `inject('databaseUrl')` (and the env
 * `TROUPE_TEST_DATABASE_URL` for child processes). Each suite creates its own
 * database on it (test/support/postgres.ts). When `TROUPE_TEST_DATABASE_URL`
 * is already set, that server is used and nothing is started.
 *
 * Missing PostgreSQL binaries fail the run with the install command: a suite
 * that silently skipped would let CI pass without testing the backend.
 */
import type { TestProject } from 'vitest/node';
import { type PostgresCluster, startPostgresCluster } from '../../src/testing/postgres-cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let cluster: PostgresCluster | undefined;
  let url = process.env.TROUPE_TEST_DATABASE_URL;
  if (!url) {
    cluster = await startPostgresCluster();
    url = cluster.connectionString;
    process.env.TROUPE_TEST_DATABASE_URL = url;
  }
  project.provide('databaseUrl', url);
  return async () => {
    await cluster?.stop();
  };
}
