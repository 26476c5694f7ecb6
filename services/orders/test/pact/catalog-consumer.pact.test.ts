/**
 * Pact, consumer side: orders → catalog reservations. The requests come from
 * orders' own CatalogClient (the mesh client with CATALOG_POLICY) talking to
 * Pact's mock server, so the pact says what orders really sends and which
 * parts of the answers it reads (the reserved lines with their prices, a
 * problem's code). Verified by services/catalog/test/pact/orders-provider.pact.test.ts.
 */
import { assertPactCommitted, PACTICIPANTS, scratchPactDir } from '@breakwater/contracts/pact';
import { MatchersV3, PactV3 } from '@pact-foundation/pact';
import { afterAll, describe, expect, it } from 'vitest';
import { CatalogClient } from '../../src/clients/catalog-client.ts';

const { eachLike, integer, regex, string, uuid } = MatchersV3;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.source;

/** Example ids: fixed, so the generated pact is the same on every run. */
const RESERVATION = {
  fresh: '3f0c7a52-4c1e-4b7a-9a43-5d2b8f1e6a01',
  outOfStock: '3f0c7a52-4c1e-4b7a-9a43-5d2b8f1e6a02',
  unknownProduct: '3f0c7a52-4c1e-4b7a-9a43-5d2b8f1e6a03',
  held: '3f0c7a52-4c1e-4b7a-9a43-5d2b8f1e6a04',
} as const;

const scratch = scratchPactDir();
const pact = new PactV3({
  consumer: PACTICIPANTS.orders,
  provider: PACTICIPANTS.catalog,
  dir: scratch.dir,
  logLevel: 'error',
});
afterAll(() => scratch.remove());

const reserveRequest = (reservationId: string, items: { productId: string; quantity: number }[]) => ({
  method: 'POST',
  path: '/reservations',
  headers: { 'Content-Type': 'application/json', 'Idempotency-Key': regex(UUID, reservationId) },
  body: { reservationId: uuid(reservationId), items },
});

const problem = (code: string) => ({
  headers: {
    'Content-Type': regex('^application/problem\\+json(;.*)?$', 'application/problem+json; charset=utf-8'),
  },
  body: { code, detail: string('the catalog says why') },
});

/** Runs `fn` with orders' real catalog client pointed at the mock server. */
const withClient = async <T>(url: string, fn: (c: CatalogClient) => Promise<T>): Promise<T> => {
  const client = new CatalogClient(url);
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
};

describe('pact: orders → catalog (consumer)', () => {
  it('reserves stock and reads the reserved lines with their unit prices', async () => {
    const items = [
      { productId: 'sku-0001', quantity: 2 },
      { productId: 'sku-0002', quantity: 1 },
    ];
    pact
      .given('products sku-0001 and sku-0002 are in stock')
      .uponReceiving('a reservation of two products in stock')
      .withRequest(reserveRequest(RESERVATION.fresh, items))
      .willRespondWith({
        status: 201,
        headers: { 'Content-Type': regex('^application/json(;.*)?$', 'application/json; charset=utf-8') },
        body: {
          items: eachLike({
            productId: string('sku-0001'),
            quantity: integer(2),
            unitPriceCents: integer(1299),
          }),
        },
      });
    const outcome = await pact.executeTest((mock) =>
      withClient(mock.url, (c) => c.reserve(RESERVATION.fresh, items)),
    );
    expect(outcome).toEqual({
      ok: true,
      lines: [{ productId: 'sku-0001', quantity: 2, unitPriceCents: 1299 }],
    });
  });

  it('gets a 409 problem with CATALOG_ERR_OUT_OF_STOCK when stock is short', async () => {
    const items = [{ productId: 'sku-0003', quantity: 1 }];
    pact
      .given('product sku-0003 is out of stock')
      .uponReceiving('a reservation of a product out of stock')
      .withRequest(reserveRequest(RESERVATION.outOfStock, items))
      .willRespondWith({ status: 409, ...problem('CATALOG_ERR_OUT_OF_STOCK') });
    const outcome = await pact.executeTest((mock) =>
      withClient(mock.url, (c) => c.reserve(RESERVATION.outOfStock, items)),
    );
    expect(outcome).toMatchObject({ ok: false, status: 409, code: 'CATALOG_ERR_OUT_OF_STOCK' });
  });

  it('gets a 422 problem with CATALOG_ERR_UNKNOWN_PRODUCT for a product the catalog does not hold', async () => {
    const items = [{ productId: 'sku-9999', quantity: 1 }];
    pact
      .uponReceiving('a reservation naming an unknown product')
      .withRequest(reserveRequest(RESERVATION.unknownProduct, items))
      .willRespondWith({ status: 422, ...problem('CATALOG_ERR_UNKNOWN_PRODUCT') });
    const outcome = await pact.executeTest((mock) =>
      withClient(mock.url, (c) => c.reserve(RESERVATION.unknownProduct, items)),
    );
    expect(outcome).toMatchObject({ ok: false, status: 422, code: 'CATALOG_ERR_UNKNOWN_PRODUCT' });
  });

  it('releases a held reservation (204)', async () => {
    pact
      .given('a reservation holds stock', { reservationId: RESERVATION.held })
      .uponReceiving('the release of a held reservation')
      .withRequest({ method: 'DELETE', path: `/reservations/${RESERVATION.held}` })
      .willRespondWith({ status: 204 });
    await pact.executeTest((mock) => withClient(mock.url, (c) => c.release(RESERVATION.held)));
  });

  it('the generated pact is the committed contracts/pacts/orders-catalog.json', () => {
    expect(
      assertPactCommitted(
        scratch.dir,
        PACTICIPANTS.orders,
        PACTICIPANTS.catalog,
        'services/orders/test/pact/catalog-consumer.pact.test.ts',
      ),
    ).toBe(4);
  });
});
