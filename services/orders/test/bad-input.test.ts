import { randomUUID } from 'node:crypto';
import { type PostgresHandle, type RedisHandle, startPostgres, startRedis } from '@breakwater/local/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { http, Shop } from './support/shop.ts';

let pg: PostgresHandle;
let redis: RedisHandle;
let shop: Shop;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  shop = await Shop.start({ pg, redisUrl: redis.url });
});
afterAll(async () => {
  await shop?.stop();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

const ok = { customerId: 'frank', items: [{ productId: 'sku-0001', quantity: 1 }] };
const item = (over: Record<string, unknown>) => ({
  customerId: 'frank',
  items: [{ productId: 'sku-0001', quantity: 1, ...over }],
});

describe('bad input is a 4xx problem, never a 5xx, and writes nothing', () => {
  it('POST /orders, GET /orders/:id, GET /payments/:orderId', async () => {
    const snapshot = async () => ({
      orders: await shop.count('orders', 'SELECT count(*) AS n FROM orders'),
      outbox: await shop.count('orders', 'SELECT count(*) AS n FROM outbox'),
      reservations: await shop.count('catalog', 'SELECT count(*) AS n FROM reservations'),
      stock: await shop.count('catalog', 'SELECT sum(stock) AS n FROM products'),
      payments: await shop.count('payments', 'SELECT count(*) AS n FROM payments'),
    });
    const before = await snapshot();
    const orders = `${shop.orders.url}/orders`;
    const key = () => ({ 'idempotency-key': randomUUID() });
    const cases: [string, string, unknown, Record<string, string>, number, string?][] = [
      ['POST', orders, ok, {}, 400, 'ORDERS_ERR_IDEMPOTENCY_KEY_REQUIRED'],
      ['POST', orders, ok, { 'idempotency-key': 'has spaces in it' }, 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, ok, { 'idempotency-key': 'k'.repeat(129) }, 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, '{"customerId": "frank", "items": [', key(), 400, 'MESH_ERR_BAD_JSON'],
      ['POST', orders, 'null', key(), 400],
      ['POST', orders, '[]', key(), 400],
      ['POST', orders, '"an order"', key(), 400],
      ['POST', orders, { items: ok.items }, key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, { customerId: 5, items: ok.items }, key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, { customerId: 'frank', items: 'sku-0001' }, key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, { customerId: 'frank', items: [] }, key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ quantity: '1' }), key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ quantity: 0 }), key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ quantity: -3 }), key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ quantity: 1.5 }), key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ quantity: 101 }), key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ quantity: 1e12 }), key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ quantity: Number.MAX_SAFE_INTEGER * 4 }), key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ productId: 'DROP TABLE' }), key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ colour: 'red' }), key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, { ...ok, admin: true }, key(), 400, 'ORDERS_ERR_VALIDATION'],
      ['POST', orders, item({ productId: 'sku-9999' }), key(), 422, 'ORDERS_ERR_UNKNOWN_PRODUCT'],
      ['POST', orders, { ...ok, note: 'x'.repeat(20_000) }, key(), 413, 'MESH_ERR_BODY_TOO_LARGE'],
      ['POST', orders, 'customerId=frank', { ...key(), 'content-type': 'text/plain' }, 400],
      ['GET', `${orders}/not-a-uuid`, undefined, {}, 400, 'ORDERS_ERR_VALIDATION'],
      ['GET', `${orders}/${randomUUID()}`, undefined, {}, 404, 'ORDERS_ERR_NOT_FOUND'],
      ['PUT', `${orders}/${randomUUID()}`, ok, {}, 405, 'MESH_ERR_METHOD_NOT_ALLOWED'],
      ['GET', `${shop.payments?.url}/payments/42`, undefined, {}, 400, 'PAYMENTS_ERR_VALIDATION'],
      ['GET', `${shop.payments?.url}/payments/${randomUUID()}`, undefined, {}, 404, 'PAYMENTS_ERR_NOT_FOUND'],
      ['GET', `${shop.notifications.url}/notifications`, undefined, {}, 404, 'MESH_ERR_NOT_FOUND'],
    ];
    for (const [method, url, body, headers, status, code] of cases) {
      const r = await http(url, method, body, headers);
      const what = `${method} ${url.replace(/^http:\/\/[^/]+/, '')} ${JSON.stringify(body)?.slice(0, 60)}`;
      expect(r.status, what).toBe(status);
      expect(r.headers.get('content-type'), what).toContain('application/problem+json');
      expect(r.body.status, what).toBe(status);
      if (code) expect(r.body.code, what).toBe(code);
    }
    expect(await snapshot()).toEqual(before);
  });
});
