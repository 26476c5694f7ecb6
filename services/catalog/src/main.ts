/**
 * The catalog process: configuration, then PostgreSQL (migrations) and Redis,
 * then the HTTP server. `node services/catalog/src/main.ts`.
 */
import { createPgPool, createStreamRedis, runMigrations } from '@breakwater/mesh/events/index';
import { createLogger } from '@breakwater/observability';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

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
    dir: new URL('../migrations/', import.meta.url),
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
await kit.listen({ host: config.host, port: config.port });
