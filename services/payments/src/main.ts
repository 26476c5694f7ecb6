/**
 * The payments process: configuration, PostgreSQL (migrations), Redis, the
 * HTTP server (payment read API), then the order.placed consumer and the
 * outbox relay. `node services/payments/src/main.ts`.
 */
import { runBackendService } from '@breakwater/events/run-backend-service';
import { buildApp } from './app.ts';
import { loadConfig, MIGRATIONS_DIR } from './config.ts';

await runBackendService({
  name: 'payments',
  loadConfig,
  migrationsDir: MIGRATIONS_DIR,
  buildApp,
  afterListen: (app) => app.workers.start(),
});
