/**
 * buildApp(config, deps) → the notifications worker: no inbound API, only
 * the mesh server kit's health, readiness and metrics (and /openapi.json),
 * plus the consumer started by `consumer.start()`.
 */
import { DATA_SCHEMAS, STREAMS } from '@breakwater/contracts';
import openapi from '@breakwater/contracts/openapi/notifications.json' with { type: 'json' };
import { createEventConsumer, type StreamConsumer } from '@breakwater/events';
import { createServiceApp, type ServiceApp, type ServiceAppOptions } from '@breakwater/mesh/server';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { SimulatedChannel } from './clients/channel.ts';
import type { NotificationsConfig } from './config.ts';
import { NOTIFICATIONS_GROUP, orderOutcomeHandlers } from './events/order-outcomes.ts';
import { NotificationsStore } from './store/notifications-store.ts';

export interface NotificationsDeps {
  pool: pg.Pool;
  redis: Redis;
  server?: Partial<Pick<ServiceAppOptions, 'signals' | 'drainDelayMs' | 'logger' | 'accessLog'>>;
}

export interface NotificationsApp extends ServiceApp {
  consumer: StreamConsumer;
}

/** The service's contract (@breakwater/contracts), served at /openapi.json. */
export const OPENAPI: Record<string, unknown> = openapi;

export function buildApp(config: NotificationsConfig, deps: NotificationsDeps): NotificationsApp {
  const kit = createServiceApp({
    service: config.service,
    bodyLimit: '1kb',
    ...(config.adminPort !== undefined && config.adminToken !== undefined
      ? { admin: { port: config.adminPort, token: config.adminToken } }
      : {}),
    ...deps.server,
  });
  const store = new NotificationsStore(deps.pool);
  const consumer = createEventConsumer({
    redis: deps.redis,
    stream: STREAMS.orders,
    group: NOTIFICATIONS_GROUP,
    consumerName: config.consumerName,
    handlers: orderOutcomeHandlers(store, new SimulatedChannel(config.failMarker)),
    dataSchemas: DATA_SCHEMAS,
    claimIdleMs: config.claimIdleMs,
    claimIntervalMs: config.claimIntervalMs,
    maxAttempts: config.maxAttempts,
    concurrency: config.concurrency,
    log: kit.logger,
  });
  kit.router.get('/openapi.json', (_req, res) => {
    res.json(OPENAPI);
  });
  kit.addReadinessCheck('postgres', () => deps.pool.query('SELECT 1'));
  kit.addCloser('postgres', () => deps.pool.end());
  kit.addCloser('redis', () => deps.redis.quit().catch(() => deps.redis.disconnect()));
  kit.addCloser('consumer', () => consumer.stop());
  return Object.assign(kit, { consumer });
}
