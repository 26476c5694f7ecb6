/**
 * The catalog's configuration, read once from the environment and validated
 * (the message names the variable), then frozen.
 */
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const CatalogEnv = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8081),
  BW_SERVICE: z.string().min(1).default('catalog'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// URL'),
  BW_ADMIN_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  BW_ADMIN_TOKEN: z.string().min(16).optional(),
  /** Fresh cache entries live this long, ms. */
  CATALOG_CACHE_TTL_MS: z.coerce.number().int().min(1).default(5_000),
  /** The stale copy served while PostgreSQL is down lives this long, ms (default 24 h). */
  CATALOG_STALE_TTL_MS: z.coerce.number().int().min(1).default(86_400_000),
  /** Run migrations at start-up. */
  CATALOG_MIGRATE_ON_START: bool.default(true),
  /** PostgreSQL statement timeout, ms. */
  CATALOG_PG_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(50).default(1_500),
  /** After 3 consecutive failed PostgreSQL reads, reads skip the database for this long, ms. */
  CATALOG_PG_BREAKER_OPEN_MS: z.coerce.number().int().min(1).default(2_000),
  /** Redis command timeout for the cache, ms. */
  CATALOG_REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).default(250),
});

export interface CatalogConfig {
  readonly host: string;
  readonly port: number;
  readonly service: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly adminPort: number | undefined;
  readonly adminToken: string | undefined;
  readonly cacheTtlMs: number;
  readonly staleTtlMs: number;
  readonly migrateOnStart: boolean;
  readonly pgStatementTimeoutMs: number;
  readonly redisTimeoutMs: number;
  readonly pgBreakerOpenMs: number;
}

export function formatEnvError(err: z.ZodError): string {
  return err.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
}

/** Throws an Error naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CatalogConfig {
  const r = CatalogEnv.safeParse(env);
  if (!r.success) throw new Error(`invalid environment: ${formatEnvError(r.error)}`);
  const e = r.data;
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    service: e.BW_SERVICE,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    adminPort: e.BW_ADMIN_PORT,
    adminToken: e.BW_ADMIN_TOKEN,
    cacheTtlMs: e.CATALOG_CACHE_TTL_MS,
    staleTtlMs: e.CATALOG_STALE_TTL_MS,
    migrateOnStart: e.CATALOG_MIGRATE_ON_START,
    pgStatementTimeoutMs: e.CATALOG_PG_STATEMENT_TIMEOUT_MS,
    redisTimeoutMs: e.CATALOG_REDIS_TIMEOUT_MS,
    pgBreakerOpenMs: e.CATALOG_PG_BREAKER_OPEN_MS,
  });
}
