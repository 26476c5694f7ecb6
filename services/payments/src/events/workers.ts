/** The payments service's background work: the order.placed consumer and the outbox relay. */
import { DATA_SCHEMAS, STREAMS } from '@breakwater/contracts';
import {
  createEventWorkers,
  type EventLogger,
  type EventWorkerSettings,
  type EventWorkers,
} from '@breakwater/events';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { SimulatedProcessor } from '../clients/processor.ts';
import type { PaymentsStore } from '../store/payments-store.ts';
import { orderPlacedHandlers, PAYMENTS_GROUP } from './order-placed.ts';

export type PaymentWorkers = EventWorkers;

export interface PaymentWorkersOptions extends EventWorkerSettings {
  pool: pg.Pool;
  /** Fail-fast Redis client (events/redis.ts). */
  redis: Redis;
  store: PaymentsStore;
  processor: SimulatedProcessor;
  log: EventLogger;
}

export function createPaymentWorkers({ store, processor, ...o }: PaymentWorkersOptions): PaymentWorkers {
  return createEventWorkers({
    ...o,
    stream: STREAMS.orders,
    group: PAYMENTS_GROUP,
    handlers: orderPlacedHandlers(store, processor),
    dataSchemas: DATA_SCHEMAS,
  });
}
