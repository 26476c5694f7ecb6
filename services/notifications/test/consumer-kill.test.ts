import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { EVENT_TYPES, SOURCES, STREAMS } from '@breakwater/contracts';
import { createEvent, createStreamRedis, waitReady } from '@breakwater/events';
import { killHard, openTestStores, startHookedWorker, until } from '@breakwater/events/testing';
import { testServers } from '@breakwater/local/harness';
import { startTelemetry } from '@breakwater/observability/telemetry';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig, MIGRATIONS_DIR } from '../src/config.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

const servers = testServers();
const { cleanup } = servers;
let redis: Redis;

beforeAll(async () => {
  // As main.ts does: the context manager lets the event's trace follow the handler's awaits.
  cleanup.push(startTelemetry({ service: 'notifications', warn: () => {} }));
  await servers.start();
});
afterAll(() => servers.stop());

/**
 * Starts `main.ts` as a child, consumer `doomed` on `s`'s stores, pausing for
 * a minute at the test hook `pause` (BW_TEST_PAUSE_*); resolves with the
 * first test-hook line it prints.
 */
const startDoomedWorker = (s: { databaseUrl: string; redisUrl: string }, pause: string) =>
  startHookedWorker(
    MAIN,
    {
      DATABASE_URL: s.databaseUrl,
      REDIS_URL: s.redisUrl,
      NOTIFICATIONS_CONSUMER_NAME: 'doomed',
      [pause]: '60000',
    },
    { name: 'worker', cleanup },
  );

async function setup() {
  const databaseUrl = await servers.database();
  const redisUrl = servers.redisUrl();
  const stores = await openTestStores({ databaseUrl, redisUrl, cleanup });
  const pool = stores.pool;
  redis = stores.redis;
  const orderId = randomUUID();
  const event = createEvent({
    type: EVENT_TYPES.orderConfirmed,
    source: SOURCES.orders,
    subject: orderId,
    traceparent: '00-5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174-01',
    data: { orderId, customerId: 'dana', amountCents: 4200, paymentId: randomUUID() },
  });
  await redis.xadd(STREAMS.orders, '*', 'type', event.type, 'event', JSON.stringify(event));
  return { databaseUrl, redisUrl, pool, orderId };
}

async function startSurvivor(databaseUrl: string, redisUrl: string) {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    NOTIFICATIONS_CONSUMER_NAME: 'survivor',
    NOTIFICATIONS_CLAIM_IDLE_MS: '300',
    NOTIFICATIONS_CLAIM_INTERVAL_MS: '100',
  });
  const stores = await openTestStores({ databaseUrl, redisUrl });
  const app = buildApp(config, { ...stores, server: { signals: [], drainDelayMs: 0, accessLog: false } });
  await app.listen({ port: 0 });
  app.consumer.start();
  cleanup.push(() => app.shutdown());
  return app;
}

const pendingOf = async (consumer: string) => {
  const rows = (await redis.xpending(STREAMS.orders, 'notifications', '-', '+', 10, consumer)) as unknown[];
  return rows.length;
};
const notificationsFor = async (pool: pg.Pool, orderId: string) =>
  Number(
    (await pool.query('SELECT count(*) AS n FROM notifications WHERE order_id = $1', [orderId])).rows[0].n,
  );

describe('a consumer killed with SIGKILL mid-message', () => {
  it('after reading and before handling: another consumer reclaims the message and the notification is recorded once', async () => {
    const s = await setup();
    const { databaseUrl, redisUrl, pool, orderId } = s;
    const { child, hook } = startDoomedWorker(s, 'BW_TEST_PAUSE_AFTER_READ_MS');
    const line = await hook;
    expect(line.bw_test_hook).toBe('after_read');
    expect(await pendingOf('doomed')).toBe(1);
    await killHard(child);
    expect(await notificationsFor(pool, orderId)).toBe(0);

    const survivor = await startSurvivor(databaseUrl, redisUrl);
    await until('notification recorded', async () => (await notificationsFor(pool, orderId)) === 1);
    await until('acknowledged', async () => (await survivor.consumer.sampleMetrics())?.pending === 0);
    expect(await pendingOf('doomed')).toBe(0);
    expect(await notificationsFor(pool, orderId)).toBe(1);
    const row = (await pool.query('SELECT trace_id FROM notifications WHERE order_id = $1', [orderId]))
      .rows[0];
    expect(row.trace_id).toBe('5b8efff798038103d269b633813fc60c');
  });

  it('after recording and before acknowledging: the reclaimed message is a duplicate, still one notification', async () => {
    const s = await setup();
    const { databaseUrl, redisUrl, pool, orderId } = s;
    const { child, hook } = startDoomedWorker(s, 'BW_TEST_PAUSE_BEFORE_ACK_MS');
    expect((await hook).bw_test_hook).toBe('before_ack');
    expect(await notificationsFor(pool, orderId)).toBe(1);
    expect(await pendingOf('doomed')).toBe(1);
    await killHard(child);

    const survivor = await startSurvivor(databaseUrl, redisUrl);
    await until('acknowledged', async () => (await survivor.consumer.sampleMetrics())?.pending === 0);
    expect(await pendingOf('doomed')).toBe(0);
    expect(await notificationsFor(pool, orderId)).toBe(1);
  });

  it('moves an event whose delivery keeps failing to the dead-letter stream after N attempts, with the reason', async () => {
    const databaseUrl = await servers.database();
    const redisUrl = servers.redisUrl();
    redis = createStreamRedis(redisUrl);
    await waitReady(redis);
    cleanup.push(() => redis.disconnect());
    const orderId = randomUUID();
    const event = createEvent({
      type: EVENT_TYPES.orderCancelled,
      source: SOURCES.orders,
      subject: orderId,
      data: { orderId, customerId: 'bounce-erin', reason: 'payment declined' },
    });
    await redis.xadd(STREAMS.orders, '*', 'event', JSON.stringify(event));
    await redis.xadd(STREAMS.orders, '*', 'event', '{"specversion":"1.0"');
    const config = loadConfig({
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      NOTIFICATIONS_CLAIM_IDLE_MS: '50',
      NOTIFICATIONS_CLAIM_INTERVAL_MS: '50',
      NOTIFICATIONS_MAX_ATTEMPTS: '3',
      NOTIFICATIONS_FAIL_MARKER: 'bounce',
    });
    const stores = await openTestStores({ databaseUrl, redisUrl, migrationsDir: MIGRATIONS_DIR });
    const app = buildApp(config, { ...stores, server: { signals: [], drainDelayMs: 0, accessLog: false } });
    cleanup.push(() => app.shutdown());
    await app.listen({ port: 0 });
    app.consumer.start();
    const dlq = app.consumer.deadLetterStream;
    await until('two dead letters', async () => (await redis.xlen(dlq)) === 2);
    const entries = (await redis.xrange(dlq, '-', '+')) as [string, string[]][];
    const byReason = Object.fromEntries(
      entries.map(([, f]) => [f[f.indexOf('reason') + 1], Number(f[f.indexOf('deliveries') + 1])]),
    );
    expect(byReason).toEqual({ unparseable: 1, max_attempts: 3 });
    expect(await notificationsFor(stores.pool, orderId)).toBe(0);
    expect((await app.consumer.sampleMetrics())?.pending).toBe(0);
  });
});
