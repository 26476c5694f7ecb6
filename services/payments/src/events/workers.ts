/** The payments service's background work: the order.placed consumer and the outbox relay. */
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
import type { SimulatedProcessor } from '../clients/processor.ts';
import type { PaymentsStore } from '../store/payments-store.ts';
import { orderPlacedHandlers, PAYMENTS_GROUP } from './order-placed.ts';

export interface PaymentWorkers {
  relay: OutboxRelay;
  consumer: StreamConsumer;
  start(): void;
  stop(): Promise<void>;
}

export function createPaymentWorkers(o: {
  pool: pg.Pool;
  redis: Redis;
  store: PaymentsStore;
  processor: SimulatedProcessor;
  log: EventLogger;
  claimIdleMs: number;
  maxAttempts: number;
  relayPollMs: number;
  consumerName?: string | undefined;
  concurrency: number;
}): PaymentWorkers {
  const relay = new OutboxRelay({ pool: o.pool, redis: o.redis, pollMs: o.relayPollMs, log: o.log });
  const hooks = testHooksFromEnv();
  const consumer = new StreamConsumer({
    redis: o.redis,
    stream: STREAMS.orders,
    group: PAYMENTS_GROUP,
    ...(o.consumerName ? { consumer: o.consumerName } : {}),
    handlers: orderPlacedHandlers(o.store, o.processor),
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
