/**
 * The orders service's configuration, read once from the environment and
 * validated (the message names the variable), then frozen. The common and
 * event-worker variables come from `@breakwater/mesh/env`.
 */
import { envHttpUrl, envPostgresUrl, envRedisUrl, eventService, parseEnv } from '@breakwater/mesh/env';
import { z } from 'zod';

/** The service's SQL migrations (node-pg-migrate), run by main.ts, migrate.ts and tests. */
export const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

const common = eventService({
  prefix: 'ORDERS',
  service: 'orders',
  port: 8082,
  maxAttempts: 10,
  relay: true,
});

export const OrdersEnv = z.object({
  ...common.shape,
  DATABASE_URL: envPostgresUrl,
  REDIS_URL: envRedisUrl,
  CATALOG_URL: envHttpUrl,
});

export type OrdersConfig = ReturnType<typeof common.config> & { readonly catalogUrl: string };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OrdersConfig {
  const e = parseEnv(OrdersEnv, env);
  return Object.freeze({ ...common.config(e), catalogUrl: e.CATALOG_URL });
}
