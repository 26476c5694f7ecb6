/**
 * A backend service's two stores, opened and closed the same way by every
 * service: `openServiceStores` (main.ts) creates the PostgreSQL pool, runs the
 * service's migrations when `migrateOnStart`, and opens the fail-fast Redis
 * client; `closeStoresOnShutdown` (app.ts) hands both to the server kit.
 */
import type { ServerOverrides, ServiceApp } from '@breakwater/mesh/server';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { EventLogger } from './logger.ts';
import { createPgPool, type PgPoolOptions, runMigrations } from './postgres.ts';
import { createStreamRedis, type StreamRedisOptions } from './redis.ts';

export interface ServiceStores {
  pool: pg.Pool;
  redis: Redis;
}

/** What a backend service's `buildApp(config, deps)` is handed: its stores and, in tests, server-kit overrides. */
export interface ServiceDeps extends ServiceStores {
  /** Server-kit overrides (tests: `signals: []`, `drainDelayMs: 0`). */
  server?: ServerOverrides;
}

export interface OpenServiceStoresOptions {
  /** The service's settings (BackendConfig from @breakwater/mesh/env). */
  config: { service: string; databaseUrl: string; redisUrl: string; migrateOnStart: boolean };
  /** The service's SQL migrations (node-pg-migrate). */
  migrationsDir: URL;
  log: EventLogger;
  /** Pool settings beyond the defaults (application name: the service). */
  pg?: Omit<PgPoolOptions, 'log'>;
  /** Redis settings beyond the defaults (connection name: the service). */
  redis?: Omit<StreamRedisOptions, 'log'>;
}

export async function openServiceStores(o: OpenServiceStoresOptions): Promise<ServiceStores> {
  const { config, log } = o;
  const pool = createPgPool(config.databaseUrl, { applicationName: config.service, ...o.pg, log });
  if (config.migrateOnStart) {
    const ran = await runMigrations({ databaseUrl: config.databaseUrl, dir: o.migrationsDir, log });
    log.info({ migrations: ran }, 'migrations applied');
  }
  const redis = createStreamRedis(config.redisUrl, { connectionName: config.service, ...o.redis, log });
  return { pool, redis };
}

/**
 * Closes the pool and the Redis client on shutdown. The kit runs closers in
 * reverse, so call this before adding the closers of what uses them
 * (workers, consumers). With `ready: 'postgres'` the service is ready only
 * while PostgreSQL answers.
 */
export function closeStoresOnShutdown(
  kit: ServiceApp,
  stores: ServiceStores,
  o: { ready?: 'postgres' } = {},
): void {
  if (o.ready === 'postgres') kit.addReadinessCheck('postgres', () => stores.pool.query('SELECT 1'));
  kit.addCloser('postgres', () => stores.pool.end());
  kit.addCloser('redis', () => stores.redis.quit().catch(() => stores.redis.disconnect()));
}
