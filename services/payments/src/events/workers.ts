/** The payments service's background work: the order.placed consumer and the outbox relay. */
import {
  createEventWorkers,
  type EventLogger,
  type EventWorkers,
  STREAMS,
} from '@breakwater/mesh/events/index';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { SimulatedProcessor } from '../clients/processor.ts';
import type { PaymentsStore } from '../store/payments-store.ts';
import { orderPlacedHandlers, PAYMENTS_GROUP } from './order-placed.ts';

export type PaymentWorkers = EventWorkers;

export function createPaymentWorkers({
  store,
  processor,
  ...o
}: {
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
  return createEventWorkers({
    ...o,
    stream: STREAMS.orders,
    group: PAYMENTS_GROUP,
    handlers: orderPlacedHandlers(store, processor),
  });
}
