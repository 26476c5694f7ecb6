/**
 * The notifications worker: configuration, PostgreSQL (migrations), Redis,
 * the health/metrics server, then the consumer.
 * `node services/notifications/src/main.ts`.
 */
import { runBackendService } from '@breakwater/events/run-backend-service';
import { buildApp } from './app.ts';
import { loadConfig, MIGRATIONS_DIR } from './config.ts';

await runBackendService({
  name: 'notifications',
  loadConfig,
  migrationsDir: MIGRATIONS_DIR,
  buildApp,
  afterListen: (app) => app.consumer.start(),
});
