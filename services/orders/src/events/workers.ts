/**
 * The orders service's background work: the outbox relay (order events to
 * the orders stream) and the payment-results consumer.
 */
import { DATA_SCHEMAS, STREAMS } from '@breakwater/contracts';
import {
  createEventWorkers,
  type EventLogger,
  type EventWorkerSettings,
  type EventWorkers,
} from '@breakwater/events';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { CatalogClient } from '../clients/catalog-client.ts';
import type { OrdersStore } from '../store/orders-store.ts';
import { ORDERS_GROUP, paymentResultHandlers } from './payment-results.ts';

export interface OrderWorkersOptions extends EventWorkerSettings {
  pool: pg.Pool;
  /** Fail-fast Redis client (events/redis.ts). */
  redis: Redis;
  store: OrdersStore;
  catalog: CatalogClient;
  log: EventLogger;
}

export type OrderWorkers = EventWorkers;

export function createOrderWorkers({ store, catalog, ...o }: OrderWorkersOptions): OrderWorkers {
  return createEventWorkers({
    ...o,
    retainInboxMs: 7 * 24 * 3_600_000, // 7 days; a late duplicate would also find the order final
    stream: STREAMS.payments,
    group: ORDERS_GROUP,
    handlers: paymentResultHandlers(store, catalog),
    dataSchemas: DATA_SCHEMAS,
  });
}
