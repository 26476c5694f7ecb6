import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES, SOURCES, STREAMS } from '@breakwater/contracts';
import { createEvent } from '@breakwater/events';
import { killHard, openTestStores, startHookedWorker, until } from '@breakwater/events/testing';
import { testServers } from '@breakwater/local/harness';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type PaymentsApp } from '../src/app.ts';
import { loadConfig, MIGRATIONS_DIR } from '../src/config.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

const servers = testServers();
const { cleanup } = servers;
beforeAll(() => servers.start());
afterAll(() => servers.stop());

interface World {
  databaseUrl: string;
  redisUrl: string;
  redis: Redis;
  pool: pg.Pool;
}

async function world(): Promise<World> {
  const databaseUrl = await servers.database();
  const redisUrl = servers.redisUrl();
  const stores = await openTestStores({ databaseUrl, redisUrl, migrationsDir: MIGRATIONS_DIR, cleanup });
  return { databaseUrl, redisUrl, ...stores };
}

/** An order.placed event for one unit of `productId` at `amountCents`. */
function orderPlaced(customerId: string, amountCents: number, productId: string) {
  const orderId = randomUUID();
  return createEvent({
    type: EVENT_TYPES.orderPlaced,
    source: SOURCES.orders,
    subject: orderId,
    data: {
      orderId,
      customerId,
      reservationId: orderId,
      amountCents,
      currency: 'EUR',
      items: [{ productId, quantity: 1, unitPriceCents: amountCents }],
    },
  });
}

async function placeOrderEvent(w: World, customerId = 'gina'): Promise<string> {
  const event = orderPlaced(customerId, 2500, 'sku-0001');
  const orderId = event.data.orderId;
  await w.redis.xadd(STREAMS.orders, '*', 'type', event.type, 'event', JSON.stringify(event));
  return orderId;
}

async function startInProcess(w: World, env: Record<string, string> = {}): Promise<PaymentsApp> {
  const config = loadConfig({
    DATABASE_URL: w.databaseUrl,
    REDIS_URL: w.redisUrl,
    PAYMENTS_CLAIM_IDLE_MS: '300',
    PAYMENTS_RELAY_POLL_MS: '20',
    PAYMENTS_PROCESSOR_LATENCY_MS: '1',
    PAYMENTS_MIGRATE_ON_START: 'false',
    ...env,
  });
  const stores = await openTestStores({ databaseUrl: w.databaseUrl, redisUrl: w.redisUrl });
  const app = buildApp(config, { ...stores, server: { signals: [], drainDelayMs: 0, accessLog: false } });
  await app.listen({ port: 0 });
  app.workers.start();
  cleanup.push(() => app.shutdown());
  return app;
}

function startDoomed(w: World, env: Record<string, string>) {
  return startHookedWorker(
    MAIN,
    {
      DATABASE_URL: w.databaseUrl,
      REDIS_URL: w.redisUrl,
      PAYMENTS_CONSUMER_NAME: 'doomed',
      PAYMENTS_PROCESSOR_LATENCY_MS: '1',
      ...env,
    },
    { name: 'payments', cleanup },
  );
}

const n = async (pool: pg.Pool, sql: string, params: unknown[] = []) =>
  Number((await pool.query(sql, params)).rows[0]?.n ?? 0);

describe('one charge per order', () => {
  it('payments SIGKILLed after charging and before acknowledging: the reclaimed event charges nothing more', async () => {
    const w = await world();
    const orderId = await placeOrderEvent(w);
    const { child, hook } = startDoomed(w, { BW_TEST_PAUSE_BEFORE_ACK_MS: '60000' });
    expect((await hook).bw_test_hook).toBe('before_ack');
    expect(await n(w.pool, `SELECT count(*) AS n FROM payments WHERE status = 'CAPTURED'`)).toBe(1);
    await killHard(child);

    const survivor = await startInProcess(w);
    await until('acknowledged', async () => (await survivor.workers.consumer.sampleMetrics())?.pending === 0);
    expect(await n(w.pool, 'SELECT count(*) AS n FROM payments WHERE order_id = $1', [orderId])).toBe(1);
    expect(await survivor.processor.charges()).toBe(1);
    expect(
      await n(w.pool, `SELECT count(*) AS n FROM outbox WHERE type = 'breakwater.payment.succeeded'`),
    ).toBe(1);
  });

  it('payments SIGKILLed after reading and before charging: the survivor charges exactly once', async () => {
    const w = await world();
    const orderId = await placeOrderEvent(w);
    const { child, hook } = startDoomed(w, { BW_TEST_PAUSE_AFTER_READ_MS: '60000' });
    expect((await hook).bw_test_hook).toBe('after_read');
    await killHard(child);
    expect(await n(w.pool, 'SELECT count(*) AS n FROM payments')).toBe(0);

    const survivor = await startInProcess(w);
    await until(
      'captured',
      async () => (await n(w.pool, `SELECT count(*) AS n FROM payments WHERE status = 'CAPTURED'`)) === 1,
    );
    await until('acknowledged', async () => (await survivor.workers.consumer.sampleMetrics())?.pending === 0);
    expect(await n(w.pool, 'SELECT count(*) AS n FROM payments WHERE order_id = $1', [orderId])).toBe(1);
    expect(await survivor.processor.charges()).toBe(1);
  });

  it('with a flaky processor (30 % transient failures) every order is charged exactly once', async () => {
    const w = await world();
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(await placeOrderEvent(w, `h${i}`));
    const app = await startInProcess(w, { PAYMENTS_PROCESSOR_FAILURE_RATE: '0.3' });
    await until(
      'every payment final',
      async () => (await n(w.pool, `SELECT count(*) AS n FROM payments WHERE status = 'CAPTURED'`)) === 12,
      30_000,
    );
    expect(await n(w.pool, 'SELECT count(*) AS n FROM payments')).toBe(12);
    expect(await app.processor.charges()).toBe(12);
    await until(
      'published',
      async () => (await n(w.pool, 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')) === 0,
    );
    expect(await w.redis.xlen(STREAMS.payments)).toBe(12);
  });

  it('the same order delivered twice is charged once (UNIQUE order_id, not luck)', async () => {
    const w = await world();
    const event = orderPlaced('ivy', 100, 'sku-0002');
    const orderId = event.data.orderId;
    // Two entries with the same event, and a second event id for the same order.
    await w.redis.xadd(STREAMS.orders, '*', 'event', JSON.stringify(event));
    await w.redis.xadd(STREAMS.orders, '*', 'event', JSON.stringify(event));
    await w.redis.xadd(STREAMS.orders, '*', 'event', JSON.stringify({ ...event, id: randomUUID() }));
    const app = await startInProcess(w);
    await until('all three handled', async () => {
      const info = await app.workers.consumer.sampleMetrics();
      return info?.pending === 0 && info.lag === 0;
    });
    expect(await n(w.pool, 'SELECT count(*) AS n FROM payments')).toBe(1);
    expect(await app.processor.charges()).toBe(1);
    await expect(
      w.pool.query(
        `INSERT INTO payments (id, order_id, customer_id, amount_cents, status) VALUES ($1, $2, 'x', 1, 'PENDING')`,
        [randomUUID(), orderId],
      ),
    ).rejects.toThrow(/duplicate key/);
  });
});
