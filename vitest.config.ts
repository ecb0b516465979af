import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // System packages first (installed when missing), then one private
    // PostgreSQL cluster for the run.
    globalSetup: ['test/setup/system-deps.ts', 'test/setup/postgres.ts'],
    // XState's development build throws on inline (unpersistable) child actors
    // instead of silently dropping them on restore; run every test against it.
    execArgv: ['--conditions=development'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
  resolve: { conditions: ['development'] },
});
