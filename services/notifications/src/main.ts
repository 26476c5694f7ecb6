/**
 * The notifications worker: configuration, PostgreSQL (migrations), Redis,
 * the health/metrics server, then the consumer.
 * `node services/notifications/src/main.ts`.
 */
import { createPgPool, createStreamRedis, runMigrations } from '@breakwater/mesh/events/index';
import { createLogger } from '@breakwater/observability';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig();
const log = createLogger({ service: config.service });

const pool = createPgPool(config.databaseUrl, { applicationName: config.service, log });
if (config.migrateOnStart) {
  const ran = await runMigrations({
    databaseUrl: config.databaseUrl,
    dir: new URL('../migrations/', import.meta.url),
    log,
  });
  log.info({ migrations: ran }, 'migrations applied');
}
const redis = createStreamRedis(config.redisUrl, { connectionName: config.service, log });

const app = buildApp(config, { pool, redis, server: { logger: log } });
await app.listen({ host: config.host, port: config.port });
app.consumer.start();
