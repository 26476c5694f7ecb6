/**
 * Pact, consumer side: the k6 shop client (k6/lib/shop-api.ts) → the public
 * contract through the gateway. k6 cannot run Pact, so Pact's mock server
 * stands where the gateway would and real k6 runs the client against it: the
 * journey every load profile drives (k6/lib/journey.ts, with every visit
 * ordering) and the reads the drills add (a payment, the shop page). A
 * change in the client — a path, a header, the order body, what it reads
 * from an answer — makes its requests miss the pact and fails this test.
 * The responses carry what the client reads: product ids, the order's
 * Location, and X-Request-Id on every answer (k6/lib/checks.ts).
 * Verified by services/orders/test/pact/gateway-provider.pact.test.ts.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertPactCommitted, PACTICIPANTS, scratchPactDir } from '@breakwater/contracts/pact';
import { MatchersV3, PactV3 } from '@pact-foundation/pact';
import { afterAll, describe, expect, it } from 'vitest';
import { k6, ROOT } from './run-k6.ts';

const { eachLike, regex, string } = MatchersV3;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** The order the pact's reads are about (the gateway's provider state creates it). */
const ORDER_ID = '2d9c4b1e-6f3a-4e7d-9b8c-1a2b3c4d5e01';
/** The dev consumer alice (gateway.yaml): the provider verification authenticates with it. */
const API_KEY = 'dev-alice-key-0000-NOT-A-SECRET';

const scratch = scratchPactDir();
afterAll(() => scratch.remove());

const requestId = { 'X-Request-Id': regex('^.+$', '7f3c9a2e-request-id') };
const json = { 'Content-Type': regex('^application/json(;.*)?$', 'application/json; charset=utf-8') };
const auth = { apikey: string(API_KEY) };

/** A k6 script that drives the real client against `BASE_URL`: the load journey, then the drills' reads. */
const SCRIPT = `
import { shopJourney } from '${join(ROOT, 'k6/lib/journey.ts')}';
import { shopApi } from '${join(ROOT, 'k6/lib/shop-api.ts')}';
export const options = { vus: 1, iterations: 1 };
export default function () {
  const api = shopApi();
  shopJourney(api);
  api.getPayment('${ORDER_ID}');
  api.shopPage();
}
`;

describe('pact: k6 shop client → gateway (consumer)', () => {
  it('the load journey and the drills’ reads match the pact', { timeout: 60_000 }, async () => {
    const pact = new PactV3({
      consumer: PACTICIPANTS.k6,
      provider: PACTICIPANTS.gateway,
      dir: scratch.dir,
      logLevel: 'error',
    });
    pact
      .uponReceiving('a product page')
      .withRequest({ method: 'GET', path: '/api/catalog/products', query: { limit: '20' }, headers: auth })
      .willRespondWith({
        status: 200,
        headers: { ...json, ...requestId },
        body: { items: eachLike({ id: string('sku-0001') }) },
      })
      .uponReceiving('one product')
      .withRequest({ method: 'GET', path: '/api/catalog/products/sku-0001', headers: auth })
      .willRespondWith({ status: 200, headers: requestId })
      .given('product sku-0001 is in stock')
      .uponReceiving('an order for one product')
      .withRequest({
        method: 'POST',
        path: '/api/orders',
        headers: {
          ...auth,
          'Content-Type': 'application/json',
          'Idempotency-Key': regex(`^${UUID}$`, ORDER_ID),
        },
        body: {
          customerId: regex('^k6-vu[0-9]+$', 'k6-vu1'),
          items: [{ productId: 'sku-0001', quantity: 1 }],
        },
      })
      .willRespondWith({
        status: 202,
        headers: { ...requestId, Location: regex(`^/api/orders/${UUID}$`, `/api/orders/${ORDER_ID}`) },
      })
      .given('an order was placed', { orderId: ORDER_ID })
      .uponReceiving("an order's status")
      .withRequest({ method: 'GET', path: `/api/orders/${ORDER_ID}`, headers: auth })
      .willRespondWith({ status: 200, headers: requestId })
      .given('an order was paid', { orderId: ORDER_ID })
      .uponReceiving('the payment of an order')
      .withRequest({ method: 'GET', path: `/api/payments/${ORDER_ID}`, headers: auth })
      .willRespondWith({ status: 200, headers: requestId })
      .uponReceiving('the shop page')
      .withRequest({ method: 'GET', path: '/', headers: auth })
      .willRespondWith({
        status: 200,
        headers: { ...requestId, 'Content-Type': regex('^text/html(;.*)?$', 'text/html; charset=utf-8') },
      });
    const script = join(scratch.dir, 'shop-api-pact.js');
    writeFileSync(script, SCRIPT);
    const run = await pact.executeTest((mock) =>
      k6(['run', '-q', script], { BASE_URL: mock.url, API_KEY, ORDER_SHARE: '1' }),
    );
    expect(run?.code, `${run?.stderr}${run?.stdout}`).toBe(0);
  });

  it('the generated pact is the committed contracts/pacts/k6-shop-client-gateway.json', () => {
    expect(
      assertPactCommitted(
        scratch.dir,
        PACTICIPANTS.k6,
        PACTICIPANTS.gateway,
        'k6/test/shop-api-consumer.pact.test.ts',
      ),
    ).toBe(6);
  });
});
