/**
 * Pact, message consumer side: payments consumes orders' order.placed. The
 * pact's message is put on the stream the pact names, as the outbox relay
 * puts events there, and the real payments service (its StreamConsumer:
 * envelope and `data` checks, then the charge handler) handles it on real
 * PostgreSQL and Redis; the test then reads the payment it made. Verified by
 * services/orders/test/pact/order-events-provider.pact.test.ts.
 */
import { EVENT_TYPES } from '@breakwater/contracts';
import { assertPactCommitted, PACTICIPANTS, scratchPactDir } from '@breakwater/contracts/pact';
import { expectEvent } from '@breakwater/contracts/pact-events';
import type { ServiceStores } from '@breakwater/events';
import { deliverTo, openTestStores } from '@breakwater/events/testing';
import { createDatabase, type RedisHandle, startRedis } from '@breakwater/local/harness';
import { sharedPostgres } from '@breakwater/local/shared';
import { MatchersV3, MessageConsumerPact } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type PaymentsApp } from '../../src/app.ts';
import { loadConfig, MIGRATIONS_DIR } from '../../src/config.ts';
import { PAYMENTS_GROUP } from '../../src/events/order-placed.ts';
import { PaymentsStore } from '../../src/store/payments-store.ts';

const { eachLike, integer, string, uuid } = MatchersV3;
const ORDER_ID = '9b7e2c1a-0d4f-4e8b-8a51-6c3d2e1f0a01';

const scratch = scratchPactDir();
let redis: RedisHandle;
let app: PaymentsApp;
let store: PaymentsStore;
/** The app's own pool and Redis client (its shutdown closes them). */
let stores: ServiceStores;

beforeAll(async () => {
  redis = await startRedis();
  const databaseUrl = await createDatabase(sharedPostgres());
  stores = await openTestStores({ databaseUrl, redisUrl: redis.url, migrationsDir: MIGRATIONS_DIR });
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redis.url,
    PORT: '0',
    LOG_LEVEL: 'warn',
    PAYMENTS_CLAIM_IDLE_MS: '1000',
    PAYMENTS_PROCESSOR_LATENCY_MS: '2',
  });
  app = buildApp(config, { ...stores, server: { signals: [], drainDelayMs: 0, accessLog: false } });
  await app.listen({ port: 0 });
  app.workers.start();
  store = new PaymentsStore(stores.pool);
});
afterAll(async () => {
  await app?.shutdown();
  await redis?.stop();
  scratch.remove();
});

describe('pact: payments ← orders events (message consumer)', () => {
  it('charges a placed order once it reads order.placed', async () => {
    const pact = new MessageConsumerPact({
      consumer: PACTICIPANTS.payments,
      provider: PACTICIPANTS.orders,
      dir: scratch.dir,
      logLevel: 'error',
    });
    await expectEvent(pact, {
      given: 'an order was placed',
      description: 'an order.placed event',
      type: EVENT_TYPES.orderPlaced,
      id: '5a1d7c3e-2b4f-4c6a-9e8d-7f0a1b2c3d01',
      data: {
        orderId: uuid(ORDER_ID),
        customerId: string('alice'),
        reservationId: uuid('3f0c7a52-4c1e-4b7a-9a43-5d2b8f1e6a01'),
        amountCents: integer(2598),
        currency: 'EUR',
        items: eachLike({
          productId: string('sku-0001'),
          quantity: integer(2),
          unitPriceCents: integer(1299),
        }),
      },
    }).verify(deliverTo(stores.redis, PAYMENTS_GROUP));
    expect(await store.byOrder(ORDER_ID)).toMatchObject({
      status: 'CAPTURED',
      amountCents: 2598,
      customerId: 'alice',
    });
  });

  it('the generated pact is the committed contracts/pacts/payments-orders.json', () => {
    expect(
      assertPactCommitted(
        scratch.dir,
        PACTICIPANTS.payments,
        PACTICIPANTS.orders,
        'services/payments/test/pact/order-events-consumer.pact.test.ts',
      ),
    ).toBe(1);
  });
});
