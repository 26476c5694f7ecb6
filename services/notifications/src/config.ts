/**
 * The notifications worker's configuration, read once from the environment
 * and validated (the message names the variable), then frozen. The common
 * and consumer variables come from `@breakwater/mesh/env`.
 */
import { envPostgresUrl, envRedisUrl, eventService, parseEnv } from '@breakwater/mesh/env';
import { z } from 'zod';

/** The service's SQL migrations (node-pg-migrate), run by main.ts, migrate.ts and tests. */
export const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

const common = eventService({
  prefix: 'NOTIFICATIONS',
  service: 'notifications',
  port: 8084,
  maxAttempts: 5,
});

export const NotificationsEnv = z.object({
  ...common.shape,
  DATABASE_URL: envPostgresUrl,
  REDIS_URL: envRedisUrl,
  /** How often to look for reclaimable entries, ms (default: min(claim idle, 5 s)). */
  NOTIFICATIONS_CLAIM_INTERVAL_MS: z.coerce.number().int().min(1).optional(),
  /** Simulated channel failure: sending to customers whose id contains this marker always fails (drills, tests). */
  NOTIFICATIONS_FAIL_MARKER: z.string().min(1).max(100).optional(),
});

export type NotificationsConfig = ReturnType<typeof common.config> & {
  readonly claimIntervalMs: number | undefined;
  readonly failMarker: string | undefined;
};

export function loadConfig(env: NodeJS.ProcessEnv = process.env): NotificationsConfig {
  const e = parseEnv(NotificationsEnv, env);
  return Object.freeze({
    ...common.config(e),
    claimIntervalMs: e.NOTIFICATIONS_CLAIM_INTERVAL_MS,
    failMarker: e.NOTIFICATIONS_FAIL_MARKER,
  });
}
