import { randomUUID } from 'node:crypto';
import { type PostgresHandle, type RedisHandle, startPostgres, startRedis } from '@breakwater/local/harness';
import { startTelemetry } from '@breakwater/observability/telemetry';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Shop } from './support/shop.ts';

let pg: PostgresHandle;
let redis: RedisHandle;
let nextDb = 1;
let shop: Shop | undefined;
let stopTelemetry: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // As every main.ts does: context manager and W3C propagators, so trace context crosses HTTP and events.
  stopTelemetry = startTelemetry({ service: 'shop-test', warn: () => {} });
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
});
afterEach(async () => {
  await shop?.stop();
  shop = undefined;
});
afterAll(async () => {
  await stopTelemetry?.();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

const start = async (o: Partial<Parameters<typeof Shop.start>[0]> = {}) => {
  shop = await Shop.start({ pg, redisUrl: `${redis.url}/${nextDb++}`, ...o });
  return shop;
};

describe('order saga, end to end', () => {
  it('a placed order becomes CONFIRMED: stock reduced once, one charge, one notification', async () => {
    const s = await start();
    const before = await s.stock('sku-0012');
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const placed = await s.placeOrder(
      { customerId: 'alice', items: [{ productId: 'sku-0012', quantity: 2 }] },
      randomUUID(),
      { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    );
    expect(placed.status).toBe(202);
    const id = placed.body.id as string;
    expect(placed.headers.get('location')).toBe(`/api/orders/${id}`);
    expect(placed.body.status).toBe('PENDING_PAYMENT');

    const final = await s.waitFinal([id]);
    expect(final.get(id)).toBe('CONFIRMED');
    const order = await s.getOrder(id);
    expect(order.body.history).toMatchObject([{ status: 'PENDING_PAYMENT' }, { status: 'CONFIRMED' }]);

    expect(await s.stock('sku-0012')).toBe(before - 2);
    expect(
      await s.count(
        'payments',
        `SELECT count(*) AS n FROM payments WHERE order_id = $1 AND status = 'CAPTURED'`,
        [id],
      ),
    ).toBe(1);
    const payment = await fetch(`${s.payments?.url}/payments/${id}`).then((r) => r.json());
    expect(payment).toMatchObject({ orderId: id, status: 'CAPTURED', amountCents: order.body.amountCents });
    await expectEventually(
      async () =>
        (await s.count('notifications', 'SELECT count(*) AS n FROM notifications WHERE order_id = $1', [
          id,
        ])) === 1,
    );
    // Nothing more happens later: still one notification once every stream is drained.
    await expectEventually(async () => (await s.notifications.app.consumer.sampleMetrics())?.pending === 0);
    expect(
      await s.count('notifications', 'SELECT count(*) AS n FROM notifications WHERE order_id = $1', [id]),
    ).toBe(1);

    // The caller's trace crossed orders → outbox → payments → outbox → orders → outbox → notifications.
    const { rows } = await s.db.notifications.query(
      'SELECT trace_id FROM notifications WHERE order_id = $1',
      [id],
    );
    expect(rows[0]?.trace_id).toBe(traceId);

    // The event layer's metrics are exported on the services' /metrics.
    await s.notifications.app.consumer.sampleMetrics();
    const metrics = await fetch(`${s.notifications.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/bw_stream_pending\{[^}]*stream="bw:orders"[^}]*group="notifications"[^}]*\} 0/);
    expect(metrics).toMatch(/bw_stream_lag\{[^}]*group="notifications"[^}]*\} 0/);
    const ordersMetrics = await fetch(`${s.orders.url}/metrics`).then((r) => r.text());
    expect(ordersMetrics).toMatch(/bw_outbox_backlog\{[^}]*\} 0/);
    expect(metrics).toMatch(
      /bw_events_processed_total\{[^}]*type="breakwater.order.confirmed"[^}]*outcome="ok"[^}]*\} [1-9]/,
    );
  });

  it('a declined payment CANCELS the order and the stock comes back', async () => {
    const s = await start();
    const before = await s.stock('sku-0013');
    const placed = await s.placeOrder(
      { customerId: 'decline-bob', items: [{ productId: 'sku-0013', quantity: 3 }] },
      randomUUID(),
    );
    expect(placed.status).toBe(202);
    const id = placed.body.id as string;
    expect(await s.stock('sku-0013')).toBe(before - 3);
    expect((await s.waitFinal([id])).get(id)).toBe('CANCELLED');
    expect(await s.stock('sku-0013')).toBe(before);
    const order = await s.getOrder(id);
    expect((order.body.history as { reason: string | null }[])[1]?.reason).toMatch(/declined/);
    expect(await s.count('payments', `SELECT count(*) AS n FROM payments WHERE status = 'CAPTURED'`)).toBe(0);
    await expectEventually(
      async () =>
        (await s.count(
          'notifications',
          `SELECT count(*) AS n FROM notifications WHERE order_id = $1 AND kind = 'order_cancelled'`,
          [id],
        )) === 1,
    );
  });

  it('a decline while the catalog is down keeps the order pending until the stock can be released, then cancels it', async () => {
    const s = await start({ withoutPayments: true });
    const before = await s.stock('sku-0016');
    const placed = await s.placeOrder(
      { customerId: 'decline-ida', items: [{ productId: 'sku-0016', quantity: 4 }] },
      randomUUID(),
    );
    expect(placed.status).toBe(202);
    const id = placed.body.id as string;
    await s.catalog.stop();
    await s.startPayments();
    await expectEventually(
      async () =>
        (await s.count('payments', `SELECT count(*) AS n FROM payments WHERE status = 'DECLINED'`)) === 1,
    );
    // The release fails, so the order is not cancelled yet; the result event stays pending for a retry.
    await expectEventually(async () => (await s.orders.app.workers.consumer.sampleMetrics())?.pending === 1);
    expect((await s.getOrder(id)).body.status).toBe('PENDING_PAYMENT');
    expect(await s.stock('sku-0016')).toBe(before - 4);

    await s.restartCatalog();
    expect((await s.waitFinal([id])).get(id)).toBe('CANCELLED');
    expect(await s.stock('sku-0016')).toBe(before);
  });

  it('with payments stopped, 50 orders are accepted and stay pending; restarted, all 50 finish with 50 charges', async () => {
    const s = await start({ withoutPayments: true });
    const keys = Array.from({ length: 50 }, () => randomUUID());
    const results = await Promise.all(
      keys.map((k, i) =>
        s.placeOrder(
          { customerId: `c${i}`, items: [{ productId: `sku-00${20 + (i % 10)}`, quantity: 1 }] },
          k,
        ),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(keys.map(() => 202));
    const ids = results.map((r) => r.body.id as string);
    // Every order.placed is on the stream, and nobody charges it.
    await expectEventually(
      async () =>
        (await s.count('orders', 'SELECT count(*) AS n FROM outbox WHERE published_at IS NULL')) === 0,
    );
    expect(await s.count('orders', `SELECT count(*) AS n FROM orders WHERE status = 'PENDING_PAYMENT'`)).toBe(
      50,
    );

    await s.startPayments();
    const final = await s.waitFinal(ids, 30_000);
    expect([...final.values()].every((st) => st === 'CONFIRMED')).toBe(true);
    expect(await s.count('payments', `SELECT count(*) AS n FROM payments WHERE status = 'CAPTURED'`)).toBe(
      50,
    );
    expect(await s.count('payments', 'SELECT count(DISTINCT order_id) AS n FROM payments')).toBe(50);
    expect(await s.payments?.app.processor.charges()).toBe(50);
  });

  it('with the catalog down an order is refused fast with 503 and Retry-After, and nothing is written', async () => {
    const s = await start();
    await s.catalog.stop();
    const t0 = Date.now();
    const r = await s.placeOrder(
      { customerId: 'hank', items: [{ productId: 'sku-0015', quantity: 1 }] },
      randomUUID(),
    );
    expect(r.status).toBe(503);
    expect(r.body.code).toBe('ORDERS_ERR_CATALOG_UNAVAILABLE');
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(await s.count('orders', 'SELECT count(*) AS n FROM orders')).toBe(0);
    expect(await s.count('orders', 'SELECT count(*) AS n FROM outbox')).toBe(0);
  });

  it('when the order cannot be written the stock is given back, and a retry with the same key succeeds once', async () => {
    const s = await start();
    const before = await s.stock('sku-0017');
    const key = randomUUID();
    const body = { customerId: 'jo', items: [{ productId: 'sku-0017', quantity: 2 }] };
    // Make the orders database refuse the insert (as an outage after the reservation would).
    await s.db.orders.query('ALTER TABLE orders ADD CONSTRAINT refuse_all CHECK (false) NOT VALID');
    const failed = await s.placeOrder(body, key);
    expect(failed.status).toBe(503);
    expect(failed.body.code).toBe('ORDERS_ERR_UNAVAILABLE');
    expect(await s.stock('sku-0017')).toBe(before);

    await s.db.orders.query('ALTER TABLE orders DROP CONSTRAINT refuse_all');
    const retried = await s.placeOrder(body, key);
    expect(retried.status).toBe(202);
    expect(await s.stock('sku-0017')).toBe(before - 2);
    expect((await s.waitFinal([retried.body.id as string])).get(retried.body.id as string)).toBe('CONFIRMED');
    const again = await s.placeOrder(body, key);
    expect(again.body.id).toBe(retried.body.id);
    expect(await s.stock('sku-0017')).toBe(before - 2);
  });

  it('the same POST twice with one key is one order with the same answer; another body with that key is 422', async () => {
    const s = await start();
    const key = randomUUID();
    const body = { customerId: 'carol', items: [{ productId: 'sku-0014', quantity: 1 }] };
    const before = await s.stock('sku-0014');
    const first = await s.placeOrder(body, key);
    const second = await s.placeOrder(body, key);
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.id).toBe(first.body.id);
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    const other = await s.placeOrder({ ...body, items: [{ productId: 'sku-0014', quantity: 2 }] }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('ORDERS_ERR_IDEMPOTENCY_MISMATCH');
    expect(await s.count('orders', 'SELECT count(*) AS n FROM orders')).toBe(1);
    expect(await s.stock('sku-0014')).toBe(before - 1);

    // Concurrent first attempts with one key also make one order.
    const key2 = randomUUID();
    const racing = await Promise.all(Array.from({ length: 6 }, () => s.placeOrder(body, key2)));
    expect(new Set(racing.map((r) => r.status))).toEqual(new Set([202]));
    expect(new Set(racing.map((r) => r.body.id)).size).toBe(1);
    expect(await s.count('orders', 'SELECT count(*) AS n FROM orders')).toBe(2);
    expect(await s.stock('sku-0014')).toBe(before - 2);
  });
});

async function expectEventually(fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
