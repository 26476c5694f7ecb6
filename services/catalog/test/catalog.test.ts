import { randomUUID } from 'node:crypto';
import { openTestStores } from '@breakwater/events/testing';
import { testServers } from '@breakwater/local/harness';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig, MIGRATIONS_DIR } from '../src/config.ts';

const servers = testServers();
beforeAll(() => servers.start());
afterAll(() => servers.stop());

interface Catalog {
  base: string;
  database: string;
  pool: pg.Pool;
  redis: Redis;
}

async function startCatalog(
  env: Record<string, string> = {},
  timeouts = { statementTimeoutMs: 2_000, connectionTimeoutMs: 1_000 },
): Promise<Catalog> {
  const databaseUrl = await servers.database();
  const redisUrl = servers.redis.url;
  const config = loadConfig({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, PORT: '0', ...env });
  // No cleanup for the stores: the app's shutdown closes them.
  const { pool, redis } = await openTestStores({
    databaseUrl,
    redisUrl,
    migrationsDir: MIGRATIONS_DIR,
    pg: timeouts,
    redis: { commandTimeoutMs: 250 },
  });
  const kit = buildApp(config, { pool, redis, server: { signals: [], drainDelayMs: 0, accessLog: false } });
  const { port } = await kit.listen({ port: 0 });
  servers.cleanup.push(() => kit.shutdown());
  return { base: `http://127.0.0.1:${port}`, pool, redis, database: new URL(databaseUrl).pathname.slice(1) };
}

async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, headers: res.headers, body: json as Record<string, unknown> };
}

const stockOf = async (pool: pg.Pool, id: string) =>
  (await pool.query('SELECT stock FROM products WHERE id = $1', [id])).rows[0]?.stock as number;

describe('catalog: products', () => {
  let c: Catalog;
  beforeAll(async () => {
    c = await startCatalog();
  });

  it('pages through the seeded products with a cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const q: string = cursor ? `?limit=15&cursor=${cursor}` : '?limit=15';
      const r = await call(c.base, 'GET', `/products${q}`);
      expect(r.status).toBe(200);
      const page = r.body as { items: { id: string; stock: number }[]; nextCursor: string | null };
      seen.push(...page.items.map((p) => p.id));
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toHaveLength(40);
    expect(new Set(seen).size).toBe(40);
    expect(seen[0]).toBe('sku-0001');
  });

  it('caches a product read: miss, then hit', async () => {
    const first = await call(c.base, 'GET', '/products/sku-0007');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(first.body).toMatchObject({ id: 'sku-0007', currency: 'EUR' });
    const second = await call(c.base, 'GET', '/products/sku-0007');
    expect(second.headers.get('x-cache')).toBe('hit');
    expect(second.body).toEqual(first.body);
    // What lets the gateway serve it stale while catalog fails (RFC 5861).
    expect(second.headers.get('cache-control')).toBe('max-age=1, stale-if-error=600');
  });

  it('answers 404 problem+json for an unknown product and 400 for bad ids and paging', async () => {
    const missing = await call(c.base, 'GET', '/products/sku-9999');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(missing.body.code).toBe('CATALOG_ERR_NOT_FOUND');
    for (const path of [
      '/products/NOT_AN_ID',
      '/products/%F0%9F%92%A5',
      `/products/${'a'.repeat(65)}`,
      '/products?limit=0',
      '/products?limit=101',
      '/products?limit=abc',
      '/products?cursor=%%%',
      '/products?cursor=bm90IGFuIGlkIQ',
      '/products?limit=5&limit=6',
      '/products?surprise=1',
    ]) {
      const r = await call(c.base, 'GET', path);
      expect(r.status, path).toBe(400);
      expect(r.body.code, path).toBe('CATALOG_ERR_VALIDATION');
    }
  });
});

describe('catalog: reservations', () => {
  let c: Catalog;
  beforeAll(async () => {
    c = await startCatalog();
  });

  it('reserves once per id: replay answers the same reservation, stock drops once', async () => {
    const before = await stockOf(c.pool, 'sku-0002');
    const body = { reservationId: randomUUID(), items: [{ productId: 'sku-0002', quantity: 3 }] };
    const first = await call(c.base, 'POST', '/reservations', body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id: body.reservationId, status: 'held' });
    const again = await call(c.base, 'POST', '/reservations', body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(await stockOf(c.pool, 'sku-0002')).toBe(before - 3);

    const other = await call(c.base, 'POST', '/reservations', {
      ...body,
      items: [{ productId: 'sku-0002', quantity: 4 }],
    });
    expect(other.status).toBe(409);
    expect(other.body.code).toBe('CATALOG_ERR_RESERVATION_CONFLICT');
  });

  it('a product on several lines is reserved as one line of their total (the document allows it)', async () => {
    const before = await stockOf(c.pool, 'sku-0009');
    const body = {
      reservationId: randomUUID(),
      items: [
        { productId: 'sku-0009', quantity: 2 },
        { productId: 'sku-0010', quantity: 1 },
        { productId: 'sku-0009', quantity: 3 },
      ],
    };
    const first = await call(c.base, 'POST', '/reservations', body);
    expect(first.status).toBe(201);
    expect(
      (first.body.items as { productId: string; quantity: number }[]).map((i) => [i.productId, i.quantity]),
    ).toEqual([
      ['sku-0009', 5],
      ['sku-0010', 1],
    ]);
    expect(await stockOf(c.pool, 'sku-0009')).toBe(before - 5);
    const replay = await call(c.base, 'POST', '/reservations', body);
    expect(replay.status).toBe(200);
  });

  it('releases once: stock comes back, a second release changes nothing, and the id cannot reserve again', async () => {
    const before = await stockOf(c.pool, 'sku-0003');
    const body = { reservationId: randomUUID(), items: [{ productId: 'sku-0003', quantity: 5 }] };
    expect((await call(c.base, 'POST', '/reservations', body)).status).toBe(201);
    expect(await stockOf(c.pool, 'sku-0003')).toBe(before - 5);
    expect((await call(c.base, 'DELETE', `/reservations/${body.reservationId}`)).status).toBe(204);
    expect((await call(c.base, 'DELETE', `/reservations/${body.reservationId}`)).status).toBe(204);
    expect(await stockOf(c.pool, 'sku-0003')).toBe(before);
    const late = await call(c.base, 'POST', '/reservations', body);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('CATALOG_ERR_RESERVATION_RELEASED');
    expect(await stockOf(c.pool, 'sku-0003')).toBe(before);
  });

  it('releasing an unknown id leaves a tombstone: a late reserve with it takes no stock', async () => {
    const id = randomUUID();
    expect((await call(c.base, 'DELETE', `/reservations/${id}`)).status).toBe(204);
    const before = await stockOf(c.pool, 'sku-0004');
    const late = await call(c.base, 'POST', '/reservations', {
      reservationId: id,
      items: [{ productId: 'sku-0004', quantity: 1 }],
    });
    expect(late.status).toBe(409);
    expect(await stockOf(c.pool, 'sku-0004')).toBe(before);
  });

  it('refuses all or nothing: out of stock 409, unknown product 422, and no line is taken', async () => {
    const before = await stockOf(c.pool, 'sku-0005');
    // One line the catalog can take beside one it cannot: neither may be taken.
    const reserveWith = (productId: string, quantity: number) =>
      call(c.base, 'POST', '/reservations', {
        reservationId: randomUUID(),
        items: [
          { productId: 'sku-0005', quantity: 1 },
          { productId, quantity },
        ],
      });
    const tooMany = await reserveWith('sku-0006', 1000);
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.code).toBe('CATALOG_ERR_OUT_OF_STOCK');
    const unknown = await reserveWith('sku-9999', 1);
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('CATALOG_ERR_UNKNOWN_PRODUCT');
    expect(await stockOf(c.pool, 'sku-0005')).toBe(before);
  });

  it('concurrent replays of one reservation take stock once', async () => {
    const before = await stockOf(c.pool, 'sku-0008');
    const body = { reservationId: randomUUID(), items: [{ productId: 'sku-0008', quantity: 2 }] };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => call(c.base, 'POST', '/reservations', body)),
    );
    expect(
      results.map((r) => r.status).sort(),
      JSON.stringify(results.filter((r) => r.status >= 300).map((r) => r.body)),
    ).toEqual([200, 200, 200, 200, 200, 200, 200, 201]);
    expect(await stockOf(c.pool, 'sku-0008')).toBe(before - 2);
  });

  it('answers bad input with 4xx problem+json, never 5xx, and writes nothing', async () => {
    const { rows: before } = await c.pool.query(
      'SELECT sum(stock)::int AS s, (SELECT count(*) FROM reservations)::int AS r FROM products',
    );
    const id = randomUUID();
    const cases: [string, string, unknown, number][] = [
      ['POST', '/reservations', '{"reservationId":', 400],
      ['POST', '/reservations', 'null', 400],
      ['POST', '/reservations', [], 400],
      [
        'POST',
        '/reservations',
        { reservationId: 'nope', items: [{ productId: 'sku-0001', quantity: 1 }] },
        400,
      ],
      ['POST', '/reservations', { reservationId: id, items: [] }, 400],
      [
        'POST',
        '/reservations',
        { reservationId: id, items: [{ productId: 'sku-0001', quantity: '1' }] },
        400,
      ],
      [
        'POST',
        '/reservations',
        { reservationId: id, items: [{ productId: 'sku-0001', quantity: 1.5 }] },
        400,
      ],
      ['POST', '/reservations', { reservationId: id, items: [{ productId: 'sku-0001', quantity: -1 }] }, 400],
      [
        'POST',
        '/reservations',
        { reservationId: id, items: [{ productId: 'sku-0001', quantity: 1e12 }] },
        400,
      ],
      [
        'POST',
        '/reservations',
        { reservationId: id, items: [{ productId: 'sku-0001', quantity: 1 }], extra: true },
        400,
      ],
      [
        'POST',
        '/reservations',
        { reservationId: id, items: [{ productId: 'x'.repeat(20_000), quantity: 1 }] },
        413,
      ],
      ['DELETE', '/reservations/not-a-uuid', undefined, 400],
      ['GET', '/nowhere', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const r = await call(c.base, method, path, body);
      expect(r.status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)}`).toBe(status);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    }
    const wrongType = await call(c.base, 'POST', '/reservations', 'reservationId=1', {
      'content-type': 'text/plain',
    });
    expect(wrongType.status).toBeGreaterThanOrEqual(400);
    expect(wrongType.status).toBeLessThan(500);
    const { rows: after } = await c.pool.query(
      'SELECT sum(stock)::int AS s, (SELECT count(*) FROM reservations)::int AS r FROM products',
    );
    expect(after).toEqual(before);
  });
});

describe('catalog: degraded', () => {
  it('with PostgreSQL hanging (paused), a few reads wait their timeout, then the breaker serves stale copies at once', async () => {
    const c = await startCatalog(
      { CATALOG_CACHE_TTL_MS: '50', CATALOG_PG_BREAKER_OPEN_MS: '60000' },
      { statementTimeoutMs: 300, connectionTimeoutMs: 300 },
    );
    const ids = Array.from({ length: 10 }, (_, i) => `sku-00${20 + i}`);
    for (const id of ids) expect((await call(c.base, 'GET', `/products/${id}`)).status).toBe(200);
    // Pausing stops the postmaster, not backends already serving connections: end those first,
    // so every read needs a new connection and hangs as against a frozen server.
    const admin = new pg.Client({ connectionString: servers.pg.superuserUrl });
    await admin.connect();
    await admin.query(
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
      [c.database],
    );
    await admin.end();
    servers.pg.pause();
    try {
      await new Promise((r) => setTimeout(r, 100)); // let the 50 ms fresh TTL lapse
      const timings: number[] = [];
      for (const id of ids) {
        const t0 = Date.now();
        const r = await call(c.base, 'GET', `/products/${id}`);
        timings.push(Date.now() - t0);
        expect(r.status, id).toBe(200);
        expect(r.headers.get('x-cache'), id).toBe('stale');
      }
      // A few reads pay the timeout — until failures are most of the breaker's 1 s window
      // (source-breaker.ts) — and every later one skips the database.
      const firstFast = timings.findIndex((t) => t < 200);
      expect(firstFast, String(timings)).toBeGreaterThanOrEqual(3);
      expect(firstFast, String(timings)).toBeLessThanOrEqual(6);
      expect(
        timings.slice(0, firstFast).every((t) => t >= 250),
        String(timings),
      ).toBe(true);
      expect(
        timings.slice(firstFast).every((t) => t < 200),
        String(timings),
      ).toBe(true);
      const metrics = await fetch(`${c.base}/metrics`).then((r) => r.text());
      expect(metrics).toMatch(/bw_breaker_state\{[^}]*upstream="postgres"[^}]*\} 2/);
    } finally {
      servers.pg.resume();
    }
  });

  it('serves cached products marked stale while PostgreSQL is down, and a fast 503 when Redis is gone too', async () => {
    // A fresh TTL shorter than the test, so only the stale copy is left when PostgreSQL goes.
    const c = await startCatalog({ CATALOG_CACHE_TTL_MS: '50' });
    const warm = await call(c.base, 'GET', '/products/sku-0010');
    expect(warm.headers.get('x-cache')).toBe('miss');
    expect((await call(c.base, 'GET', '/products?limit=5')).status).toBe(200);
    await servers.pg.stopProcess();
    try {
      await new Promise((r) => setTimeout(r, 100)); // let the 50 ms fresh TTL lapse
      const stale = await call(c.base, 'GET', '/products/sku-0010');
      expect(stale.status).toBe(200);
      expect(stale.headers.get('x-cache')).toBe('stale');
      expect(stale.headers.get('warning')).toBe('110 - "Response is Stale"');
      expect(stale.body).toEqual(warm.body);
      const page = await call(c.base, 'GET', '/products?limit=5');
      expect(page.status).toBe(200);
      expect(page.headers.get('x-cache')).toBe('stale');

      const never = await call(c.base, 'GET', '/products/sku-0011');
      expect(never.status).toBe(503);
      expect(never.headers.get('retry-after')).toBe('5');

      await servers.redis.stopProcess();
      const t0 = Date.now();
      const gone = await call(c.base, 'GET', '/products/sku-0010');
      expect(gone.status).toBe(503);
      expect(gone.body.code).toBe('CATALOG_ERR_UNAVAILABLE');
      expect(gone.headers.get('retry-after')).toBe('5');
      expect(Date.now() - t0).toBeLessThan(1_500);
    } finally {
      await Promise.all([servers.pg.restart(), servers.redis.restart()]);
    }
  });
});
