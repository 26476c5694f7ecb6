/**
 * Pact, message consumer side: orders consumes payments' results
 * (payment.succeeded, payment.declined). Each message of the pact is put on
 * the stream the pact names, as the outbox relay does, and the real orders
 * service handles it (its StreamConsumer and saga handlers; a decline
 * releases the reservation at a real catalog), in the shop harness on the
 * run's shared PostgreSQL and a Redis of its own; the test then reads the
 * order's new status. Verified by
 * services/payments/test/pact/payment-events-provider.pact.test.ts.
 */
import { EVENT_TYPES } from '@breakwater/contracts';
import { assertPactCommitted, PACTICIPANTS, scratchPactDir } from '@breakwater/contracts/pact';
import { eventEnvelope, eventMetadata } from '@breakwater/contracts/pact-events';
import { createStreamRedis, waitReady } from '@breakwater/events';
import { deliverTo } from '@breakwater/events/testing';
import { type RedisHandle, startRedis } from '@breakwater/local/harness';
import { sharedPostgres } from '@breakwater/local/shared';
import { MatchersV3, MessageConsumerPact } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORDERS_GROUP } from '../../src/events/payment-results.ts';
import { OrdersStore } from '../../src/store/orders-store.ts';
import { ensurePendingOrder } from '../support/pending-order.ts';
import { Shop } from '../support/shop.ts';

const { integer, string, uuid } = MatchersV3;
const PAID = '9b7e2c1a-0d4f-4e8b-8a51-6c3d2e1f0a04';
const DECLINED = '9b7e2c1a-0d4f-4e8b-8a51-6c3d2e1f0a05';

const scratch = scratchPactDir();
const pact = new MessageConsumerPact({
  consumer: PACTICIPANTS.orders,
  provider: PACTICIPANTS.payments,
  dir: scratch.dir,
  logLevel: 'error',
});
let redis: RedisHandle;
let shop: Shop;
let store: OrdersStore;
let feed: ReturnType<typeof createStreamRedis>;

beforeAll(async () => {
  redis = await startRedis();
  shop = await Shop.start({ pg: sharedPostgres(), redisUrl: redis.url, withoutPayments: true });
  store = new OrdersStore(shop.db.orders);
  feed = createStreamRedis(redis.url);
  await waitReady(feed);
});
afterAll(async () => {
  feed?.disconnect();
  await shop?.stop();
  await redis?.stop();
  scratch.remove();
});

describe('pact: orders ← payments events (message consumer)', () => {
  it('confirms the order on payment.succeeded', async () => {
    await ensurePendingOrder(store, PAID); // the consumer's own precondition, through its store
    await pact
      .given('a payment was captured')
      .expectsToReceive('a payment.succeeded event')
      .withContent(
        eventEnvelope(
          EVENT_TYPES.paymentSucceeded,
          { id: '5a1d7c3e-2b4f-4c6a-9e8d-7f0a1b2c3d04' },
          {
            orderId: uuid(PAID),
            paymentId: uuid('7c4e1b2a-3d5f-4a6b-8c9d-0e1f2a3b4c02'),
            amountCents: integer(2598),
            processorRef: string('sim-7c4e1b2a'),
          },
        ),
      )
      .withMetadata(eventMetadata(EVENT_TYPES.paymentSucceeded))
      .verify((m) => deliverTo(feed, ORDERS_GROUP)(m));
    expect(await store.get(PAID)).toMatchObject({
      status: 'CONFIRMED',
      paymentId: '7c4e1b2a-3d5f-4a6b-8c9d-0e1f2a3b4c02',
    });
  });

  it('releases the stock and cancels the order on payment.declined', async () => {
    await ensurePendingOrder(store, DECLINED);
    await pact
      .given('a payment was declined')
      .expectsToReceive('a payment.declined event')
      .withContent(
        eventEnvelope(
          EVENT_TYPES.paymentDeclined,
          { id: '5a1d7c3e-2b4f-4c6a-9e8d-7f0a1b2c3d05' },
          {
            orderId: uuid(DECLINED),
            paymentId: uuid('7c4e1b2a-3d5f-4a6b-8c9d-0e1f2a3b4c03'),
            amountCents: integer(2598),
            reason: string('card declined (customer marker)'),
          },
        ),
      )
      .withMetadata(eventMetadata(EVENT_TYPES.paymentDeclined))
      .verify((m) => deliverTo(feed, ORDERS_GROUP)(m));
    const order = await store.get(DECLINED);
    expect(order?.status).toBe('CANCELLED');
    expect(order?.history.at(-1)?.reason).toBe('payment declined: card declined (customer marker)');
  });

  it('the generated pact is the committed contracts/pacts/orders-payments.json', () => {
    expect(
      assertPactCommitted(
        scratch.dir,
        PACTICIPANTS.orders,
        PACTICIPANTS.payments,
        'services/orders/test/pact/payment-events-consumer.pact.test.ts',
      ),
    ).toBe(2);
  });
});
