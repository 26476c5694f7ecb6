/**
 * The orders process: configuration, PostgreSQL (migrations), Redis, the
 * catalog client, the HTTP server, then the outbox relay and the
 * payment-results consumer. `node services/orders/src/main.ts`.
 */

import { createPgPool, createStreamRedis, runMigrations } from '@breakwater/events';
import { createLogger } from '@breakwater/observability';
import { startTelemetry } from '@breakwater/observability/telemetry';
import { buildApp } from './app.ts';
import { loadConfig, MIGRATIONS_DIR } from './config.ts';

// Telemetry first: the context manager and propagators must exist before any work starts.
const stopTelemetry = startTelemetry({ service: process.env.BW_SERVICE ?? 'orders' });

const config = loadConfig();
const log = createLogger({ service: config.service });

const pool = createPgPool(config.databaseUrl, { applicationName: config.service, log });
if (config.migrateOnStart) {
  const ran = await runMigrations({
    databaseUrl: config.databaseUrl,
    dir: MIGRATIONS_DIR,
    log,
  });
  log.info({ migrations: ran }, 'migrations applied');
}
const redis = createStreamRedis(config.redisUrl, { connectionName: config.service, log });

const app = buildApp(config, { pool, redis, server: { logger: log } });
app.addCloser('telemetry', stopTelemetry);
await app.listen({ host: config.host, port: config.port });
app.workers.start();
