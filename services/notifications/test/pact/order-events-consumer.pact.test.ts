/**
 * Pact, message consumer side: notifications consumes orders' outcomes
 * (order.confirmed, order.cancelled). Each message of the pact is put on the
 * stream the pact names, as the outbox relay does, and the real notifications
 * service (its StreamConsumer and handlers, on real PostgreSQL and Redis)
 * handles it; the test reads the notification it recorded. Verified by
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
import { buildApp, type NotificationsApp } from '../../src/app.ts';
import { loadConfig, MIGRATIONS_DIR } from '../../src/config.ts';
import { NOTIFICATIONS_GROUP } from '../../src/events/order-outcomes.ts';

const { integer, string, uuid } = MatchersV3;
const CONFIRMED = '9b7e2c1a-0d4f-4e8b-8a51-6c3d2e1f0a02';
const CANCELLED = '9b7e2c1a-0d4f-4e8b-8a51-6c3d2e1f0a03';

const scratch = scratchPactDir();
const pact = new MessageConsumerPact({
  consumer: PACTICIPANTS.notifications,
  provider: PACTICIPANTS.orders,
  dir: scratch.dir,
  logLevel: 'error',
});
let redis: RedisHandle;
let app: NotificationsApp;
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
    NOTIFICATIONS_CLAIM_IDLE_MS: '1000',
  });
  app = buildApp(config, { ...stores, server: { signals: [], drainDelayMs: 0, accessLog: false } });
  await app.listen({ port: 0 });
  app.consumer.start();
});
afterAll(async () => {
  await app?.shutdown();
  await redis?.stop();
  scratch.remove();
});

const recorded = async (orderId: string) =>
  (await stores.pool.query('SELECT kind, customer_id FROM notifications WHERE order_id = $1', [orderId]))
    .rows;

describe('pact: notifications ← orders events (message consumer)', () => {
  it('records a confirmation from order.confirmed', async () => {
    await expectEvent(pact, {
      given: 'an order was confirmed',
      description: 'an order.confirmed event',
      type: EVENT_TYPES.orderConfirmed,
      id: '5a1d7c3e-2b4f-4c6a-9e8d-7f0a1b2c3d02',
      data: {
        orderId: uuid(CONFIRMED),
        customerId: string('alice'),
        amountCents: integer(2598),
        paymentId: uuid('7c4e1b2a-3d5f-4a6b-8c9d-0e1f2a3b4c01'),
      },
    }).verify(deliverTo(stores.redis, NOTIFICATIONS_GROUP));
    expect(await recorded(CONFIRMED)).toEqual([{ kind: 'order_confirmed', customer_id: 'alice' }]);
  });

  it('records a cancellation from order.cancelled', async () => {
    await expectEvent(pact, {
      given: 'an order was cancelled',
      description: 'an order.cancelled event',
      type: EVENT_TYPES.orderCancelled,
      id: '5a1d7c3e-2b4f-4c6a-9e8d-7f0a1b2c3d03',
      data: {
        orderId: uuid(CANCELLED),
        customerId: string('bob'),
        reason: string('payment declined: card declined'),
      },
    }).verify(deliverTo(stores.redis, NOTIFICATIONS_GROUP));
    expect(await recorded(CANCELLED)).toEqual([{ kind: 'order_cancelled', customer_id: 'bob' }]);
  });

  it('the generated pact is the committed contracts/pacts/notifications-orders.json', () => {
    expect(
      assertPactCommitted(
        scratch.dir,
        PACTICIPANTS.notifications,
        PACTICIPANTS.orders,
        'services/notifications/test/pact/order-events-consumer.pact.test.ts',
      ),
    ).toBe(2);
  });
});
