/**
 * Pact, provider side: the public contract through the gateway, as the k6
 * shop client (contracts/pacts/k6-shop-client-gateway.json) and the shop page
 * (contracts/pacts/frontend-gateway.json) expect it. A real gateway process
 * with gateway.yaml as checked in (its dev consumers, limits and routes) in
 * front of the real services (the shop harness: catalog, orders, payments,
 * notifications on the run's shared PostgreSQL, a Redis of its own) and the
 * real frontend. Provider states go through the services' own code: an
 * order is written by orders' OrdersStore (support/pending-order.ts), and it is paid the way the shop
 * pays it (its order.placed crosses the outbox to payments).
 */
import { explainVerification, interactionsOf, PACTICIPANTS, pactFile } from '@breakwater/contracts/pact';
import { until } from '@breakwater/events/testing';
import { buildApp as buildFrontend, loadConfig as frontendConfig } from '@breakwater/frontend';
import { type RedisHandle, startRedis } from '@breakwater/local/harness';
import { sharedPostgres } from '@breakwater/local/shared';
import type { ServiceApp } from '@breakwater/mesh/server';
import { Verifier } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrdersStore } from '../../src/store/orders-store.ts';
import { type RunningGateway, startGateway } from '../support/gateway.ts';
import { ensurePendingOrder } from '../support/pending-order.ts';
import { Shop } from '../support/shop.ts';

let redis: RedisHandle;
let shop: Shop;
let frontend: ServiceApp;
let gateway: RunningGateway;
let orders: OrdersStore;

beforeAll(async () => {
  redis = await startRedis();
  shop = await Shop.start({ pg: sharedPostgres(), redisUrl: redis.url });
  frontend = buildFrontend(frontendConfig({ LOG_LEVEL: 'warn' }), {
    server: { signals: [], drainDelayMs: 0, accessLog: false },
  });
  const { port } = await frontend.listen({ host: '127.0.0.1', port: 0 });
  gateway = await startGateway({
    shop,
    redisUrl: redis.url,
    frontendUrl: `http://127.0.0.1:${port}`,
    name: 'pact',
  });
  orders = new OrdersStore(shop.db.orders);
});
afterAll(async () => {
  await gateway?.stop();
  await frontend?.shutdown('test done');
  await shop?.stop();
  await redis?.stop();
});

const stateHandlers = {
  'product sku-0001 is in stock': async () => {
    if (!((await shop.stock('sku-0001')) > 0)) throw new Error('sku-0001 is out of stock');
  },
  'an order was placed': async (params: unknown) => {
    await ensurePendingOrder(orders, (params as { orderId: string }).orderId);
  },
  'an order was paid': async (params: unknown) => {
    const { orderId } = params as { orderId: string };
    await ensurePendingOrder(orders, orderId);
    // Its order.placed goes through orders' outbox to payments, which charges it.
    await until(
      `order ${orderId} paid`,
      async () => (await fetch(`${shop.payments?.url}/payments/${orderId}`)).status === 200,
      30_000, // relay, stream and charge: seconds on a busy two-core machine
    );
  },
};

describe('pact: public contract (provider: gateway)', () => {
  const consumers = [PACTICIPANTS.k6, PACTICIPANTS.frontend] as const;
  for (const consumer of consumers) {
    it(`the gateway and the services honour every interaction ${consumer} expects`, {
      timeout: 90_000,
    }, async () => {
      const file = pactFile(consumer, PACTICIPANTS.gateway);
      await explainVerification(
        new Verifier({
          provider: PACTICIPANTS.gateway,
          providerBaseUrl: gateway.url,
          pactUrls: [file],
          stateHandlers,
          logLevel: 'error',
        }).verifyProvider(),
      );
      const n = interactionsOf(file).length;
      expect(n).toBeGreaterThan(0);
      console.log(
        `pact consumer ${consumer}, provider gateway: ${n} interactions verified against the gateway and the shop`,
      );
    });
  }
});
