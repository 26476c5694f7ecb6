/**
 * The shop backend for integration tests: catalog, orders, payments and
 * notifications built with their real buildApp on free loopback ports, each
 * with its own database (and role) on one harness PostgreSQL, sharing one
 * Redis (a separate logical db per shop so tests do not see each other's
 * streams). Real HTTP between orders and catalog.
 */

import {
  buildApp as buildCatalog,
  loadConfig as catalogConfig,
  MIGRATIONS_DIR as catalogMigrations,
} from '@breakwater/catalog';
import {
  createPgPool,
  createStreamRedis,
  runMigrations,
  type ServiceStores,
  waitReady,
} from '@breakwater/events';
import { createDatabase, type PostgresTarget } from '@breakwater/local/harness';
import type { ServiceApp } from '@breakwater/mesh/server';
import {
  buildApp as buildNotifications,
  type NotificationsApp,
  loadConfig as notificationsConfig,
  MIGRATIONS_DIR as notificationsMigrations,
} from '@breakwater/notifications';
import {
  buildApp as buildPayments,
  type PaymentsApp,
  loadConfig as paymentsConfig,
  MIGRATIONS_DIR as paymentsMigrations,
} from '@breakwater/payments';
import type { Redis } from 'ioredis';
import type pg from 'pg';
import { buildApp as buildOrders, type OrdersApp } from '../../src/app.ts';
import { loadConfig as ordersConfig, MIGRATIONS_DIR as ordersMigrations } from '../../src/config.ts';

const quiet = { signals: [] as [], drainDelayMs: 0, accessLog: false };
const MIGRATIONS: Record<string, URL> = {
  catalog: catalogMigrations,
  orders: ordersMigrations,
  payments: paymentsMigrations,
  notifications: notificationsMigrations,
};
const migrations = (service: string) => {
  const dir = MIGRATIONS[service];
  if (dir === undefined) throw new Error(`no migrations for ${service}`);
  return dir;
};

export interface Running<A> {
  app: A;
  url: string;
  pool: pg.Pool;
  redis: Redis;
  stop(): Promise<void>;
}

export interface ShopOptions {
  /** Any PostgreSQL the harness can create databases on: a server of the test's own or the run's shared one. */
  pg: PostgresTarget;
  /** `redis://127.0.0.1:<port>/<db>` */
  redisUrl: string;
  /** Extra environment per service. */
  env?: Partial<Record<'catalog' | 'orders' | 'payments' | 'notifications', Record<string, string>>>;
  /** Start without payments (start it later with `startPayments()`). */
  withoutPayments?: boolean;
}

/** Fast event timings for tests: reclaim after 1 s of idleness. */
const EVENT_ENV = { claimIdle: '1000', relayPoll: '20' };

export class Shop {
  readonly o: ShopOptions;
  readonly dbs: Record<'catalog' | 'orders' | 'payments' | 'notifications', string>;
  catalog!: Running<ReturnType<typeof buildCatalog>>;
  orders!: Running<OrdersApp>;
  payments: Running<PaymentsApp> | undefined;
  notifications!: Running<NotificationsApp>;
  /** A pool per database for assertions (closed by stop()). */
  readonly db = {} as Record<'catalog' | 'orders' | 'payments' | 'notifications', pg.Pool>;

  private constructor(o: ShopOptions, dbs: Shop['dbs']) {
    this.o = o;
    this.dbs = dbs;
  }

  static async start(o: ShopOptions): Promise<Shop> {
    const names = ['catalog', 'orders', 'payments', 'notifications'] as const;
    const urls = await Promise.all(names.map(() => createDatabase(o.pg)));
    const dbs = Object.fromEntries(names.map((n, i) => [n, urls[i] as string])) as Shop['dbs'];
    await Promise.all(names.map((n) => runMigrations({ databaseUrl: dbs[n], dir: migrations(n) })));
    const shop = new Shop(o, dbs);
    for (const n of names) shop.db[n] = createPgPool(dbs[n]);
    await shop.#startCatalog();
    await Promise.all([
      shop.#startOrders(),
      shop.#startNotifications(),
      o.withoutPayments ? undefined : shop.startPayments(),
    ]);
    return shop;
  }

  async #connections(db: string, redisTimeoutMs = 2_000) {
    const pool = createPgPool(db, { connectionTimeoutMs: 1_000 });
    const redis = createStreamRedis(this.o.redisUrl, { commandTimeoutMs: redisTimeoutMs });
    await waitReady(redis).catch(() => {}); // a test may start a service while Redis is down
    return { pool, redis };
  }

  /** Listens (on `port`, default any free one), then starts the app's background work (`work`). */
  async #serve<A extends ServiceApp>(
    app: A,
    stores: ServiceStores,
    work: (app: A) => void = () => {},
    port = 0,
  ): Promise<Running<A>> {
    const listening = await app.listen({ port });
    work(app);
    return { app, url: `http://127.0.0.1:${listening.port}`, ...stores, stop: () => app.shutdown() };
  }

  async #startCatalog(fixedPort = 0): Promise<void> {
    const stores = await this.#connections(this.dbs.catalog, 250);
    const config = catalogConfig({
      DATABASE_URL: this.dbs.catalog,
      REDIS_URL: this.o.redisUrl,
      ...this.o.env?.catalog,
    });
    this.catalog = await this.#serve(
      buildCatalog(config, { ...stores, server: quiet }),
      stores,
      undefined,
      fixedPort,
    );
  }

  async #startOrders(): Promise<void> {
    const stores = await this.#connections(this.dbs.orders);
    const config = ordersConfig({
      DATABASE_URL: this.dbs.orders,
      REDIS_URL: this.o.redisUrl,
      CATALOG_URL: this.catalog.url,
      ORDERS_CLAIM_IDLE_MS: EVENT_ENV.claimIdle,
      ORDERS_RELAY_POLL_MS: EVENT_ENV.relayPoll,
      ...this.o.env?.orders,
    });
    const app = buildOrders(config, { ...stores, server: quiet });
    this.orders = await this.#serve(app, stores, (a) => a.workers.start());
  }

  async startPayments(env: Record<string, string> = {}): Promise<void> {
    const stores = await this.#connections(this.dbs.payments);
    const config = paymentsConfig({
      DATABASE_URL: this.dbs.payments,
      REDIS_URL: this.o.redisUrl,
      PAYMENTS_CLAIM_IDLE_MS: EVENT_ENV.claimIdle,
      PAYMENTS_RELAY_POLL_MS: EVENT_ENV.relayPoll,
      PAYMENTS_PROCESSOR_LATENCY_MS: '2',
      ...this.o.env?.payments,
      ...env,
    });
    const app = buildPayments(config, { ...stores, server: quiet });
    this.payments = await this.#serve(app, stores, (a) => a.workers.start());
  }

  /** Starts the catalog again on the port it had (orders keeps its URL). */
  async restartCatalog(): Promise<void> {
    await this.catalog.stop();
    await this.#startCatalog(Number(new URL(this.catalog.url).port));
  }

  async stopPayments(): Promise<void> {
    await this.payments?.stop();
    this.payments = undefined;
  }

  async #startNotifications(): Promise<void> {
    const stores = await this.#connections(this.dbs.notifications);
    const config = notificationsConfig({
      DATABASE_URL: this.dbs.notifications,
      REDIS_URL: this.o.redisUrl,
      NOTIFICATIONS_CLAIM_IDLE_MS: EVENT_ENV.claimIdle,
      ...this.o.env?.notifications,
    });
    const app = buildNotifications(config, { ...stores, server: quiet });
    this.notifications = await this.#serve(app, stores, (a) => a.consumer.start());
  }

  async stop(): Promise<void> {
    await Promise.all([this.payments?.stop(), this.notifications?.stop(), this.orders?.stop()]);
    await this.catalog?.stop();
    await Promise.all(Object.values(this.db).map((p) => p.end()));
  }

  // --- client helpers ------------------------------------------------------

  async placeOrder(body: unknown, key: string, headers: Record<string, string> = {}) {
    return http(`${this.orders.url}/orders`, 'POST', body, { 'idempotency-key': key, ...headers });
  }

  async getOrder(id: string) {
    return http(`${this.orders.url}/orders/${id}`, 'GET');
  }

  async stock(productId: string): Promise<number> {
    const { rows } = await this.db.catalog.query('SELECT stock FROM products WHERE id = $1', [productId]);
    return rows[0]?.stock as number;
  }

  async count(db: keyof Shop['db'], sql: string, params: unknown[] = []): Promise<number> {
    const { rows } = await this.db[db].query(sql, params);
    return Number(rows[0]?.n ?? 0);
  }

  /** Polls until every order left PENDING_PAYMENT; returns id → final status. */
  async waitFinal(ids: string[], timeoutMs = 20_000): Promise<Map<string, string>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.db.orders.query<{ id: string; status: string }>(
        'SELECT id, status FROM orders WHERE id = ANY($1::uuid[])',
        [ids],
      );
      const final = new Map(rows.filter((r) => r.status !== 'PENDING_PAYMENT').map((r) => [r.id, r.status]));
      if (final.size === ids.length) return final;
      if (Date.now() > deadline) {
        throw new Error(`timed out: ${final.size}/${ids.length} orders final after ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

export interface HttpResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function http(
  url: string,
  method: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const h: Record<string, string> = { ...headers };
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    h['content-type'] ??= 'application/json';
  }
  const res = await fetch(url, { method, headers: h, ...(payload !== undefined ? { body: payload } : {}) });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { text };
  }
  return { status: res.status, headers: res.headers, body: json as Record<string, unknown> };
}

/** Polls with a deadline (re-exported for the orders tests). */
export { until } from '@breakwater/events/testing';
