/**
 * The orders service's configuration, read once from the environment and
 * validated (the message names the variable), then frozen.
 */
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const url = (scheme: RegExp, what: string) => z.string().regex(scheme, what);

export const OrdersEnv = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8082),
  BW_SERVICE: z.string().min(1).default('orders'),
  DATABASE_URL: url(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
  REDIS_URL: url(/^rediss?:\/\//, 'a redis:// URL'),
  CATALOG_URL: url(/^https?:\/\//, 'an http:// URL'),
  BW_ADMIN_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  BW_ADMIN_TOKEN: z.string().min(16).optional(),
  ORDERS_MIGRATE_ON_START: bool.default(true),
  /** Pending stream entries idle this long are reclaimed by another consumer, ms. */
  ORDERS_CLAIM_IDLE_MS: z.coerce.number().int().min(1).default(10_000),
  /** Deliveries before a failing event is dead-lettered. */
  ORDERS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(10),
  /** Outbox poll interval when idle, ms. */
  ORDERS_RELAY_POLL_MS: z.coerce.number().int().min(5).default(100),
  /** Consumer name in the group (default <hostname>-<pid>). */
  /** Events handled at once by this process's consumer. */
  ORDERS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  ORDERS_CONSUMER_NAME: z.string().min(1).max(200).optional(),
});

export interface OrdersConfig {
  readonly host: string;
  readonly port: number;
  readonly service: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly catalogUrl: string;
  readonly adminPort: number | undefined;
  readonly adminToken: string | undefined;
  readonly migrateOnStart: boolean;
  readonly claimIdleMs: number;
  readonly maxAttempts: number;
  readonly relayPollMs: number;
  readonly consumerName: string | undefined;
  readonly concurrency: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OrdersConfig {
  const r = OrdersEnv.safeParse(env);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`).join('; ');
    throw new Error(`invalid environment: ${msg}`);
  }
  const e = r.data;
  return Object.freeze({
    host: e.HOST,
    port: e.PORT,
    service: e.BW_SERVICE,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    catalogUrl: e.CATALOG_URL,
    adminPort: e.BW_ADMIN_PORT,
    adminToken: e.BW_ADMIN_TOKEN,
    migrateOnStart: e.ORDERS_MIGRATE_ON_START,
    claimIdleMs: e.ORDERS_CLAIM_IDLE_MS,
    maxAttempts: e.ORDERS_MAX_ATTEMPTS,
    relayPollMs: e.ORDERS_RELAY_POLL_MS,
    consumerName: e.ORDERS_CONSUMER_NAME,
    concurrency: e.ORDERS_CONCURRENCY,
  });
}
