/**
 * The catalog process: configuration, then PostgreSQL (migrations) and Redis,
 * then the HTTP server. `node services/catalog/src/main.ts`.
 */
import { runBackendService } from '@breakwater/events/run-backend-service';
import { buildApp } from './app.ts';
import { loadConfig, MIGRATIONS_DIR } from './config.ts';

await runBackendService({
  name: 'catalog',
  loadConfig,
  migrationsDir: MIGRATIONS_DIR,
  // The cache's client fails faster than the event layer's (CATALOG_REDIS_TIMEOUT_MS).
  stores: (config) => ({
    pg: { statementTimeoutMs: config.pgStatementTimeoutMs },
    redis: { commandTimeoutMs: config.redisTimeoutMs, connectionName: `${config.service}-cache` },
  }),
  buildApp,
});
