/**
 * The orders process: configuration, PostgreSQL (migrations), Redis, the
 * catalog client, the HTTP server, then the outbox relay and the
 * payment-results consumer. `node services/orders/src/main.ts`.
 */
import { runBackendService } from '@breakwater/events/run-backend-service';
import { buildApp } from './app.ts';
import { loadConfig, MIGRATIONS_DIR } from './config.ts';

await runBackendService({
  name: 'orders',
  loadConfig,
  migrationsDir: MIGRATIONS_DIR,
  buildApp,
  afterListen: (app) => app.workers.start(),
});
