import { randomUUID } from 'node:crypto';
import { type PostgresHandle, type RedisHandle, startPostgres, startRedis } from '@breakwater/local/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Shop, until } from './support/shop.ts';

let pg: PostgresHandle;
let redis: RedisHandle;
let shop: Shop | undefined;

beforeAll(async () => {
  // Persistent (append-only file) so streams and consumer groups survive the outage, as in `local/`.
  [pg, redis] = await Promise.all([startPostgres(), startRedis({ persistent: true })]);
});
afterAll(async () => {
  await shop?.stop();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

describe('Redis outage', () => {
  it('orders are still accepted while Redis is down; their events wait in the outbox, then drain and every order completes', async () => {
    shop = await Shop.start({ pg, redisUrl: redis.url });
    const s = shop;
    // Warm up: the saga works and every consumer group exists.
    const warm = await s.placeOrder(
      { customerId: 'warm', items: [{ productId: 'sku-0030', quantity: 1 }] },
      randomUUID(),
    );
    await s.waitFinal([warm.body.id as string]);

    await redis.stopProcess();
    const before = await s.stock('sku-0031');
    const placed = [];
    for (let i = 0; i < 10; i++) {
      placed.push(
        await s.placeOrder(
          { customerId: `r${i}`, items: [{ productId: 'sku-0031', quantity: 1 }] },
          randomUUID(),
        ),
      );
    }
    expect(placed.map((r) => r.status)).toEqual(Array(10).fill(202));
    const ids = placed.map((r) => r.body.id as string);
    expect(await s.stock('sku-0031')).toBe(before - 10);
    // The relay keeps trying; the rows wait.
    const backlog = () => s.count('orders', 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
    await new Promise((r) => setTimeout(r, 500));
    expect(await backlog()).toBe(10);
    expect(await s.count('orders', `SELECT count(*) AS n FROM orders WHERE status = 'PENDING_PAYMENT'`)).toBe(
      10,
    );

    await redis.restart();
    await until('outbox drained', async () => (await backlog()) === 0, 20_000);
    const final = await s.waitFinal(ids, 30_000);
    expect([...final.values()]).toEqual(Array(10).fill('CONFIRMED'));
    expect(await s.count('payments', `SELECT count(*) AS n FROM payments WHERE status = 'CAPTURED'`)).toBe(
      11,
    );
    await until(
      'every notification recorded',
      async () => (await s.count('notifications', 'SELECT count(*) AS n FROM notifications')) === 11,
      20_000,
    );
  });
});
