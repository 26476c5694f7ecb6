/**
 * The catalog process: configuration, then PostgreSQL (migrations) and Redis,
 * then the HTTP server. `node services/catalog/src/main.ts`.
 */
import { createPgPool, createStreamRedis, runMigrations } from '@breakwater/mesh/events/index';
import { createLogger, setServiceLabel } from '@breakwater/observability';
import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';

const config = loadConfig();
setServiceLabel(config.service);
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

const app = buildApp(config, { pool, redis });
const server = app.listen(config.port, config.host, () => {
  const addr = server.address();
  log.info({ address: addr }, 'catalog listening');
});

async function shutdown(signal: string): Promise<void> {
  log.info({ signal }, 'shutting down');
  server.close();
  await pool.end().catch(() => {});
  redis.disconnect();
  process.exit(0);
}
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));
