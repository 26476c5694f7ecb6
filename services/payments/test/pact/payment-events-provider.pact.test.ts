/**
 * Pact, message provider side: payments produces what orders expects
 * (contracts/pacts/orders-payments.json). Each provider state is brought
 * about by payments' own PaymentsStore on real PostgreSQL (a migrated
 * database on the run's shared server): begin creates the payment, finish
 * captures or declines it and writes the result event to the outbox in the
 * same transaction. The message Pact verifies is that outbox row — the
 * envelope and the stream the relay publishes it on.
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
import { PaymentsStore } from '../../src/store/payments-store.ts';

let pool: pg.Pool;
let store: PaymentsStore;
/** The order the current provider state's payment is for. */
let orderId = '';

beforeAll(async () => {
  const databaseUrl = await createDatabase(sharedPostgres());
  await runMigrations({ databaseUrl, dir: MIGRATIONS_DIR });
  pool = createPgPool(databaseUrl);
  store = new PaymentsStore(pool);
});
afterAll(() => pool?.end());

const pay = async (result: Parameters<PaymentsStore['finish']>[1]) => {
  orderId = randomUUID();
  const payment = await store.begin({ orderId, customerId: 'alice', amountCents: 2598 });
  expect(await store.finish(payment, result)).toBe(true);
};

/** The outbox row of `type` for the current order, as a Pact message with its stream as metadata. */
const fromOutbox = (type: string) => async () =>
  pactMessage(await outboxEvent(pool, type, orderId), `${type} for order ${orderId}`);

describe('pact: payments events (message provider: payments)', () => {
  it('payments writes every result orders expects', { timeout: 60_000 }, async () => {
    const file = pactFile(PACTICIPANTS.orders, PACTICIPANTS.payments);
    await explainVerification(
      new MessageProviderPact({
        provider: PACTICIPANTS.payments,
        pactUrls: [file],
        logLevel: 'error',
        stateHandlers: {
          'a payment was captured': () => pay({ status: 'CAPTURED', ref: `sim-${randomUUID().slice(0, 8)}` }),
          'a payment was declined': () =>
            pay({ status: 'DECLINED', reason: 'card declined (customer marker)' }),
        },
        messageProviders: {
          'a payment.succeeded event': fromOutbox(EVENT_TYPES.paymentSucceeded),
          'a payment.declined event': fromOutbox(EVENT_TYPES.paymentDeclined),
        },
      }).verify(),
    );
    const n = interactionsOf(file).length;
    expect(n).toBe(2);
    console.log(
      `pact consumer orders, provider payments: ${n} message interactions verified against payments' outbox`,
    );
  });
});
