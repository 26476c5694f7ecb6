/**
 * The notifications worker's configuration, read once from the environment
 * and validated (the message names the variable), then frozen.
 */
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const NotificationsEnv = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(8084),
  BW_SERVICE: z.string().min(1).default('notifications'),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'a postgres:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'a redis:// URL'),
  BW_ADMIN_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
  BW_ADMIN_TOKEN: z.string().min(16).optional(),
  NOTIFICATIONS_MIGRATE_ON_START: bool.default(true),
  /** Pending entries idle this long are reclaimed (XAUTOCLAIM), ms. */
  NOTIFICATIONS_CLAIM_IDLE_MS: z.coerce.number().int().min(1).default(10_000),
  /** How often to look for reclaimable entries, ms (default: min(claim idle, 5 s)). */
  NOTIFICATIONS_CLAIM_INTERVAL_MS: z.coerce.number().int().min(1).optional(),
  /** Deliveries before a failing event goes to the dead-letter stream. */
  NOTIFICATIONS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(5),
  /** Events handled at once by this process's consumer. */
  NOTIFICATIONS_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  NOTIFICATIONS_CONSUMER_NAME: z.string().min(1).max(200).optional(),
  /** Simulated channel failure: sending to customers whose id contains this marker always fails (drills, tests). */
  NOTIFICATIONS_FAIL_MARKER: z.string().min(1).max(100).optional(),
});

export interface NotificationsConfig {
  readonly host: string;
  readonly port: number;
  readonly service: string;
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly adminPort: number | undefined;
  readonly adminToken: string | undefined;
  readonly migrateOnStart: boolean;
  readonly claimIdleMs: number;
  readonly claimIntervalMs: number | undefined;
  readonly maxAttempts: number;
  readonly consumerName: string | undefined;
  readonly concurrency: number;
  readonly failMarker: string | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): NotificationsConfig {
  const r = NotificationsEnv.safeParse(env);
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
    adminPort: e.BW_ADMIN_PORT,
    adminToken: e.BW_ADMIN_TOKEN,
    migrateOnStart: e.NOTIFICATIONS_MIGRATE_ON_START,
    claimIdleMs: e.NOTIFICATIONS_CLAIM_IDLE_MS,
    claimIntervalMs: e.NOTIFICATIONS_CLAIM_INTERVAL_MS,
    maxAttempts: e.NOTIFICATIONS_MAX_ATTEMPTS,
    consumerName: e.NOTIFICATIONS_CONSUMER_NAME,
    concurrency: e.NOTIFICATIONS_CONCURRENCY,
    failMarker: e.NOTIFICATIONS_FAIL_MARKER,
  });
}
