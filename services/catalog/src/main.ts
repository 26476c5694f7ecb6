/**
 * The catalog process: configuration, then PostgreSQL (migrations) and Redis,
 * then the HTTP server. `node services/catalog/src/main.ts`.
 */

import { createPgPool, createStreamRedis, runMigrations } from '@breakwater/events';
import { createLogger } from '@breakwater/observability';
import { startTelemetry } from '@breakwater/observability/telemetry';
import { buildApp } from './app.ts';
import { loadConfig, MIGRATIONS_DIR } from './config.ts';

// Telemetry first: the context manager and propagators must exist before any work starts.
const stopTelemetry = startTelemetry({ service: process.env.BW_SERVICE ?? 'catalog' });

const config = loadConfig();
const log = createLogger({ service: config.service });

const pool = createPgPool(config.databaseUrl, {
  statementTimeoutMs: config.pgStatementTimeoutMs,
  applicationName: config.service,
  log,
});
if (config.migrateOnStart) {
  const ran = await runMigrations({
    databaseUrl: config.databaseUrl,
    dir: MIGRATIONS_DIR,
    log,
  });
  log.info({ migrations: ran }, 'migrations applied');
}
const redis = createStreamRedis(config.redisUrl, {
  commandTimeoutMs: config.redisTimeoutMs,
  connectionName: `${config.service}-cache`,
  log,
});

const kit = buildApp(config, { pool, redis, server: { logger: log } });
kit.addCloser('telemetry', stopTelemetry);
await kit.listen({ host: config.host, port: config.port });
