import { defineConfig } from 'vitest/config';

// One test runner for the whole repository. Integration tests start real
// servers (Redis, PostgreSQL, HTTP upstreams) on free loopback ports, so the
// timeouts are generous and files run in separate processes.
export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['**/node_modules/**', '.tools/**', '.run/**', 'k6/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 90_000,
    reporters: ['default'],
  },
});
