/**
 * The orders service's configuration, read once from the environment and
 * validated (the message names the variable), then frozen. The common and
 * event-worker variables come from `@breakwater/mesh/env`.
 */
import {
  type BackendConfig,
  backendConfig,
  backendEnvShape,
  type ConsumerConfig,
  consumerConfig,
  consumerEnvShape,
  envHttpUrl,
  envPostgresUrl,
  envRedisUrl,
  parseEnv,
  relayEnvShape,
} from '@breakwater/mesh/env';
import { z } from 'zod';

/** The service's SQL migrations (node-pg-migrate), run by main.ts, migrate.ts and tests. */
export const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);

export const OrdersEnv = z.object({
  ...backendEnvShape({ prefix: 'ORDERS', service: 'orders', port: 8082 }),
  DATABASE_URL: envPostgresUrl,
  REDIS_URL: envRedisUrl,
  CATALOG_URL: envHttpUrl,
  /** The catalog's endpoints file (local discovery); when set, orders balances over its instances. */
  CATALOG_ENDPOINTS_FILE: z.string().min(1).optional(),
  ...consumerEnvShape({ prefix: 'ORDERS', maxAttempts: 10 }),
  ...relayEnvShape('ORDERS'),
});

export interface OrdersConfig extends BackendConfig, ConsumerConfig {
  readonly catalogUrl: string;
  readonly catalogEndpointsFile: string | undefined;
  readonly relayPollMs: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): OrdersConfig {
  const e = parseEnv(OrdersEnv, env);
  return Object.freeze({
    ...backendConfig('ORDERS', e),
    catalogUrl: e.CATALOG_URL,
    catalogEndpointsFile: e.CATALOG_ENDPOINTS_FILE,
    ...consumerConfig('ORDERS', e),
    relayPollMs: e.ORDERS_RELAY_POLL_MS,
  });
}
