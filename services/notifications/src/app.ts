/**
 * buildApp(config, deps) → the notifications worker: no inbound API, only
 * the mesh server kit's health, readiness and metrics (and /openapi.json),
 * plus the consumer started by `consumer.start()`.
 */
import { DATA_SCHEMAS, STREAMS } from '@breakwater/contracts';
import openapi from '@breakwater/contracts/openapi/notifications.json' with { type: 'json' };
import {
  closeStoresOnShutdown,
  createEventConsumer,
  type ServiceDeps,
  type StreamConsumer,
} from '@breakwater/events';
import { createServiceAppFor, type ServiceApp } from '@breakwater/mesh/server';
import { SimulatedChannel } from './clients/channel.ts';
import type { NotificationsConfig } from './config.ts';
import { NOTIFICATIONS_GROUP, orderOutcomeHandlers } from './events/order-outcomes.ts';
import { NotificationsStore } from './store/notifications-store.ts';

export type NotificationsDeps = ServiceDeps;

export interface NotificationsApp extends ServiceApp {
  consumer: StreamConsumer;
}

/** The service's contract (@breakwater/contracts), served at /openapi.json. */
export const OPENAPI: Record<string, unknown> = openapi;

export function buildApp(config: NotificationsConfig, deps: NotificationsDeps): NotificationsApp {
  const kit = createServiceAppFor(config, { bodyLimit: '1kb', openapi: OPENAPI, ...deps.server });
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
  closeStoresOnShutdown(kit, deps, { ready: 'postgres' });
  kit.addCloser('consumer', () => consumer.stop());
  return Object.assign(kit, { consumer });
}
