/**
 * Pact, message provider side: orders produces what payments
 * (contracts/pacts/payments-orders.json) and notifications
 * (contracts/pacts/notifications-orders.json) expect. Each provider state is
 * brought about by orders' own OrdersStore on real PostgreSQL (a migrated
 * database on the run's shared server): insertPending places the order,
 * applyPayment confirms or cancels it, each writing its event to the outbox
 * in the same transaction. The message Pact verifies is that outbox row —
 * the envelope and the stream the relay publishes it on.
 */
import { randomUUID } from 'node:crypto';
import { EVENT_TYPES } from '@breakwater/contracts';
import { explainVerification, interactionsOf, PACTICIPANTS, pactFile } from '@breakwater/contracts/pact';
import { pactMessage } from '@breakwater/contracts/pact-events';
import { createPgPool, runMigrations } from '@breakwater/events';
import { outboxEvent } from '@breakwater/events/testing';
import { createDatabase } from '@breakwater/local/harness';
import { sharedPostgres } from '@breakwater/local/shared';
import { MessageProviderPact } from '@pact-foundation/pact';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../src/config.ts';
import { OrdersStore, type PaymentOutcome } from '../../src/store/orders-store.ts';
import { ensurePendingOrder } from '../support/pending-order.ts';

let pool: pg.Pool;
let store: OrdersStore;
/** The order the current provider state is about. */
let orderId = '';

beforeAll(async () => {
  const databaseUrl = await createDatabase(sharedPostgres());
  await runMigrations({ databaseUrl, dir: MIGRATIONS_DIR });
  pool = createPgPool(databaseUrl);
  store = new OrdersStore(pool);
});
afterAll(() => pool?.end());

const placeOrder = async () => {
  orderId = randomUUID();
  await ensurePendingOrder(store, orderId);
};
const finishOrder = async (outcome: PaymentOutcome) => {
  await placeOrder();
  expect(await store.applyPayment('pact', randomUUID(), orderId, outcome)).toBe('applied');
};

/** The outbox row of `type` for the current order, as a Pact message with its stream as metadata. */
const fromOutbox = (type: string) => async () =>
  pactMessage(await outboxEvent(pool, type, orderId), `${type} for order ${orderId}`);

describe('pact: orders events (message provider: orders)', () => {
  it('orders writes every event its consumers expect', { timeout: 60_000 }, async () => {
    const files = [
      pactFile(PACTICIPANTS.payments, PACTICIPANTS.orders),
      pactFile(PACTICIPANTS.notifications, PACTICIPANTS.orders),
    ];
    await explainVerification(
      new MessageProviderPact({
        provider: PACTICIPANTS.orders,
        pactUrls: files,
        logLevel: 'error',
        stateHandlers: {
          'an order was placed': placeOrder,
          'an order was confirmed': () => finishOrder({ kind: 'succeeded', paymentId: randomUUID() }),
          'an order was cancelled': () =>
            finishOrder({
              kind: 'declined',
              paymentId: randomUUID(),
              reason: 'card declined (customer marker)',
            }),
        },
        messageProviders: {
          'an order.placed event': fromOutbox(EVENT_TYPES.orderPlaced),
          'an order.confirmed event': fromOutbox(EVENT_TYPES.orderConfirmed),
          'an order.cancelled event': fromOutbox(EVENT_TYPES.orderCancelled),
        },
      }).verify(),
    );
    const n = files.reduce((sum, f) => sum + interactionsOf(f).length, 0);
    expect(n).toBe(3);
    console.log(
      `pact consumers payments and notifications, provider orders: ${n} message interactions verified against orders' outbox`,
    );
  });
});
