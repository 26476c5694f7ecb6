import { defineConfig } from 'vitest/config';

// One test runner for the whole repository. Integration tests start real
// servers (Redis, PostgreSQL, HTTP upstreams) on free loopback ports, so the
// timeouts are generous and files run in separate processes.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '.tools/**', '.run/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
    reporters: ['default'],
    // One shared real Redis + PostgreSQL per run (≈0.7 s), read in tests with
    // sharedRedisUrl() / sharedPostgres() from @breakwater/local/shared.
    // See docs/conventions.md, "Test harness".
    globalSetup: ['local/src/vitest-global-setup.ts'],
    // Pact's native core reports usage to Google Analytics unless this is set
    // (contracts/README.md, "Pact"); no test should phone home.
    env: { PACT_DO_NOT_TRACK: 'true' },
  },
});
