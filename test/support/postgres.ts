/** A fresh database per suite on the cluster of test/setup/postgres.ts. */
import { inject } from 'vitest';
import { createDatabase } from '../../src/testing/postgres-cluster.js';

/** The admin connection string of the test cluster. */
export function testServerUrl(): string {
  return inject('databaseUrl');
}

/** Creates a new, empty database for one suite and returns its connection string. */
export function testDatabase(prefix = 'test'): Promise<string> {
  return createDatabase(testServerUrl(), prefix);
}
