/**
 * Pact, provider side: the catalog verifies what orders expects of its
 * reservations (contracts/pacts/orders-catalog.json, written by
 * services/orders/test/pact/catalog-consumer.pact.test.ts). The real catalog
 * app on the run's shared PostgreSQL (a database of its own, migrated and
 * seeded) and shared Redis; each provider state is set up through the
 * catalog's own ProductsStore.
 */
import { randomUUID } from 'node:crypto';
import { explainVerification, interactionsOf, PACTICIPANTS, pactFile } from '@breakwater/contracts/pact';
import { openTestStores } from '@breakwater/events/testing';
import { createDatabase } from '@breakwater/local/harness';
import { sharedPostgres, sharedRedisUrl } from '@breakwater/local/shared';
import type { ServiceApp } from '@breakwater/mesh/server';
import { Verifier } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig, MIGRATIONS_DIR } from '../../src/config.ts';
import { ProductsStore } from '../../src/store/products-store.ts';

let app: ServiceApp;
let url: string;
let store: ProductsStore;

beforeAll(async () => {
  const databaseUrl = await createDatabase(sharedPostgres());
  const redisUrl = sharedRedisUrl();
  // No cleanup for the stores: the app's shutdown closes them.
  const stores = await openTestStores({ databaseUrl, redisUrl, migrationsDir: MIGRATIONS_DIR });
  app = buildApp(
    loadConfig({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, PORT: '0', LOG_LEVEL: 'warn' }),
    {
      ...stores,
      server: { signals: [], drainDelayMs: 0, accessLog: false },
    },
  );
  url = `http://127.0.0.1:${(await app.listen({ port: 0 })).port}`;
  store = new ProductsStore(stores.pool);
});
afterAll(() => app?.shutdown());

/** Stock of a seeded product, read through the store. */
const stockOf = async (productId: string) => {
  const p = await store.get(productId);
  if (!p) throw new Error(`provider state: no product ${productId} in the seeded catalog`);
  return p.stock;
};

const stateHandlers = {
  'products sku-0001 and sku-0002 are in stock': async () => {
    for (const id of ['sku-0001', 'sku-0002']) if ((await stockOf(id)) < 2) throw new Error(`${id} is short`);
  },
  'product sku-0003 is out of stock': async () => {
    const stock = await stockOf('sku-0003');
    if (stock > 0)
      await store.reserve({
        reservationId: randomUUID(),
        items: [{ productId: 'sku-0003', quantity: stock }],
      });
  },
  'a reservation holds stock': async (params: unknown) => {
    const { reservationId } = params as { reservationId: string };
    await store.reserve({ reservationId, items: [{ productId: 'sku-0004', quantity: 1 }] });
  },
};

describe('pact: orders → catalog (provider: catalog)', () => {
  it('the catalog honours every interaction orders expects', { timeout: 60_000 }, async () => {
    const file = pactFile(PACTICIPANTS.orders, PACTICIPANTS.catalog);
    await explainVerification(
      new Verifier({
        provider: PACTICIPANTS.catalog,
        providerBaseUrl: url,
        pactUrls: [file],
        stateHandlers,
        logLevel: 'error',
      }).verifyProvider(),
    );
    expect(await stockOf('sku-0003')).toBe(0);
    const n = interactionsOf(file).length;
    expect(n).toBeGreaterThan(0);
    console.log(`pact consumer orders, provider catalog: ${n} interactions verified against the catalog`);
  });
});
