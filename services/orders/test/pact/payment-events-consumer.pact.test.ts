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
import { expectEvent } from '@breakwater/contracts/pact-events';
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

beforeAll(async () => {
  redis = await startRedis();
  shop = await Shop.start({ pg: sharedPostgres(), redisUrl: redis.url, withoutPayments: true });
  store = new OrdersStore(shop.db.orders);
});
afterAll(async () => {
  await shop?.stop();
  await redis?.stop();
  scratch.remove();
});

describe('pact: orders ← payments events (message consumer)', () => {
  it('confirms the order on payment.succeeded', async () => {
    await ensurePendingOrder(store, PAID); // the consumer's own precondition, through its store
    await expectEvent(pact, {
      given: 'a payment was captured',
      description: 'a payment.succeeded event',
      type: EVENT_TYPES.paymentSucceeded,
      id: '5a1d7c3e-2b4f-4c6a-9e8d-7f0a1b2c3d04',
      data: {
        orderId: uuid(PAID),
        paymentId: uuid('7c4e1b2a-3d5f-4a6b-8c9d-0e1f2a3b4c02'),
        amountCents: integer(2598),
        processorRef: string('sim-7c4e1b2a'),
      },
    }).verify(deliverTo(shop.orders.redis, ORDERS_GROUP));
    expect(await store.get(PAID)).toMatchObject({
      status: 'CONFIRMED',
      paymentId: '7c4e1b2a-3d5f-4a6b-8c9d-0e1f2a3b4c02',
    });
  });

  it('releases the stock and cancels the order on payment.declined', async () => {
    await ensurePendingOrder(store, DECLINED);
    await expectEvent(pact, {
      given: 'a payment was declined',
      description: 'a payment.declined event',
      type: EVENT_TYPES.paymentDeclined,
      id: '5a1d7c3e-2b4f-4c6a-9e8d-7f0a1b2c3d05',
      data: {
        orderId: uuid(DECLINED),
        paymentId: uuid('7c4e1b2a-3d5f-4a6b-8c9d-0e1f2a3b4c03'),
        amountCents: integer(2598),
        reason: string('card declined (customer marker)'),
      },
    }).verify(deliverTo(shop.orders.redis, ORDERS_GROUP));
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
