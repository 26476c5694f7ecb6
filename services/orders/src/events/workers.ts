/**
 * The orders service's background work: the outbox relay (order events to
 * the orders stream) and the payment-results consumer.
 */
import {
  DATA_SCHEMAS,
  type EventLogger,
  OutboxRelay,
  STREAMS,
  StreamConsumer,
  testHooksFromEnv,
} from '@breakwater/mesh/events/index';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { CatalogClient } from '../clients/catalog-client.ts';
import type { OrdersStore } from '../store/orders-store.ts';
import { ORDERS_GROUP, paymentResultHandlers } from './payment-results.ts';

export interface OrderWorkersOptions {
  pool: pg.Pool;
  /** Fail-fast Redis client (events/redis.ts). */
  redis: Redis;
  store: OrdersStore;
  catalog: CatalogClient;
  log: EventLogger;
  claimIdleMs: number;
  maxAttempts: number;
  relayPollMs: number;
  consumerName?: string | undefined;
  concurrency: number;
}

export interface OrderWorkers {
  relay: OutboxRelay;
  consumer: StreamConsumer;
  start(): void;
  stop(): Promise<void>;
}

export function createOrderWorkers(o: OrderWorkersOptions): OrderWorkers {
  const relay = new OutboxRelay({
    pool: o.pool,
    redis: o.redis,
    pollMs: o.relayPollMs,
    log: o.log,
    retainInboxMs: 7 * 24 * 3_600_000, // 7 days; a late duplicate would also find the order final
  });
  const hooks = testHooksFromEnv();
  const consumer = new StreamConsumer({
    redis: o.redis,
    stream: STREAMS.payments,
    group: ORDERS_GROUP,
    ...(o.consumerName ? { consumer: o.consumerName } : {}),
    handlers: paymentResultHandlers(o.store, o.catalog),
    dataSchemas: DATA_SCHEMAS,
    claimIdleMs: o.claimIdleMs,
    maxAttempts: o.maxAttempts,
    concurrency: o.concurrency,
    log: o.log,
    ...(hooks ? { hooks } : {}),
  });
  return {
    relay,
    consumer,
    start() {
      relay.start();
      consumer.start();
    },
    async stop() {
      await Promise.all([relay.stop(), consumer.stop()]);
    },
  };
}
