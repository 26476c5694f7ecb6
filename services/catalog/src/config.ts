/**
 * The catalog's configuration, read once from the environment and validated
 * (the message names the variable), then frozen. The common variables come
 * from `@breakwater/mesh/env`.
 */
import {
  type BackendConfig,
  backendConfig,
  backendEnvShape,
  envPostgresUrl,
  envRedisUrl,
  parseEnv,
} from '@breakwater/mesh/env';
import { z } from 'zod';

export { formatEnvError } from '@breakwater/mesh/env';

/** The service's SQL migrations (node-pg-migrate), run by main.ts, migrate.ts and tests. */
export const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

export const CatalogEnv = z.object({
  ...backendEnvShape({ prefix: 'CATALOG', service: 'catalog', port: 8081 }),
  DATABASE_URL: envPostgresUrl,
  REDIS_URL: envRedisUrl,
  /** Fresh cache entries live this long, ms. */
  CATALOG_CACHE_TTL_MS: z.coerce.number().int().min(1).default(5_000),
  /** The stale copy served while PostgreSQL is down lives this long, ms (default 24 h). */
  CATALOG_STALE_TTL_MS: z.coerce.number().int().min(1).default(86_400_000),
  /** PostgreSQL statement timeout, ms. */
  CATALOG_PG_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(50).default(1_500),
  /** After 3 consecutive failed PostgreSQL reads, reads skip the database for this long, ms. */
  CATALOG_PG_BREAKER_OPEN_MS: z.coerce.number().int().min(1).default(2_000),
  /** Redis command timeout for the cache, ms. */
  CATALOG_REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).default(250),
});

export interface CatalogConfig extends BackendConfig {
  readonly cacheTtlMs: number;
  readonly staleTtlMs: number;
  readonly pgStatementTimeoutMs: number;
  readonly redisTimeoutMs: number;
  readonly pgBreakerOpenMs: number;
}

/** Throws an Error naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CatalogConfig {
  const e = parseEnv(CatalogEnv, env);
  return Object.freeze({
    ...backendConfig('CATALOG', e),
    cacheTtlMs: e.CATALOG_CACHE_TTL_MS,
    staleTtlMs: e.CATALOG_STALE_TTL_MS,
    pgStatementTimeoutMs: e.CATALOG_PG_STATEMENT_TIMEOUT_MS,
    redisTimeoutMs: e.CATALOG_REDIS_TIMEOUT_MS,
    pgBreakerOpenMs: e.CATALOG_PG_BREAKER_OPEN_MS,
  });
}
