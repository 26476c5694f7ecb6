/**
 * Pact, consumer side: the shop page → the public contract through the
 * gateway. The real page (served by the real frontend service) runs in a
 * real headless Chromium; its API calls go to Pact's mock server, on the
 * page's own origin as behind the gateway (a loopback front sends /api/* to
 * the mock and the rest to the frontend). The page lists products, orders
 * one, follows it to CONFIRMED and shows its payment — so the pact holds the
 * requests the page's modules make (public/js/api.js, catalog.js, orders.js)
 * and the fields they read. Verified by
 * services/orders/test/pact/gateway-provider.pact.test.ts.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { assertPactCommitted, PACTICIPANTS, scratchPactDir } from '@breakwater/contracts/pact';
import { type Browser, launchBrowser } from '@breakwater/local/chromium';
import type { ServiceApp } from '@breakwater/mesh/server';
import { MatchersV3, PactV3 } from '@pact-foundation/pact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { forward } from '../support/stand-in-gateway.ts';

const { eachLike, integer, regex, string, uuid } = MatchersV3;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const STATUS = '^(PENDING_PAYMENT|CONFIRMED|CANCELLED)$';
/** The order the pact's reads are about (the gateway's provider state creates it). */
const ORDER_ID = '2d9c4b1e-6f3a-4e7d-9b8c-1a2b3c4d5e02';
/** The public key the page is given (gateway.yaml consumer shop-frontend). */
const API_KEY = 'dev-public-frontend-key-NOT-A-SECRET';

const scratch = scratchPactDir();
let frontend: ServiceApp;
let frontendPort: number;
let browser: Browser;

beforeAll(async () => {
  frontend = buildApp(
    loadConfig({ FRONTEND_API_KEY: API_KEY, FRONTEND_POLL_INITIAL_MS: '100', LOG_LEVEL: 'warn' }),
    { server: { signals: [], drainDelayMs: 0, accessLog: false } },
  );
  frontendPort = (await frontend.listen({ host: '127.0.0.1', port: 0 })).port;
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await frontend?.shutdown('test done');
  scratch.remove();
});

/** One origin for the page: /api/* to `api` (the mock), everything else to the frontend. */
async function front(api: URL): Promise<{ url: string; close(): Promise<void> }> {
  const frontendUrl = new URL(`http://127.0.0.1:${frontendPort}`);
  const server: Server = createServer((req, res) =>
    forward(req, res, req.url?.startsWith('/api/') ? api : frontendUrl),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const auth = { apikey: string(API_KEY) };
const json = { 'Content-Type': regex('^application/json(;.*)?$', 'application/json; charset=utf-8') };

describe('pact: shop page → gateway (consumer)', () => {
  it('lists products, orders one, follows it to CONFIRMED and shows its payment', {
    timeout: 60_000,
  }, async () => {
    const pact = new PactV3({
      consumer: PACTICIPANTS.frontend,
      provider: PACTICIPANTS.gateway,
      dir: scratch.dir,
      logLevel: 'error',
    });
    pact
      .uponReceiving('the first product page')
      .withRequest({ method: 'GET', path: '/api/catalog/products', query: { limit: '12' }, headers: auth })
      .willRespondWith({
        status: 200,
        headers: json,
        body: {
          items: eachLike({
            id: string('sku-0001'),
            name: string('Sea kayak'),
            description: string('A stable touring kayak'),
            priceCents: integer(129_900),
            currency: string('EUR'),
            stock: integer(12),
          }),
          nextCursor: string('sku-0012'),
        },
      })
      .given('product sku-0001 is in stock')
      .uponReceiving('an order for one product from the page')
      .withRequest({
        method: 'POST',
        path: '/api/orders',
        headers: {
          ...auth,
          'Content-Type': 'application/json',
          'Idempotency-Key': regex(`^${UUID}$`, ORDER_ID),
        },
        body: {
          customerId: regex('^shopper-[0-9a-f]{8}$', 'shopper-2d9c4b1e'),
          items: [{ productId: 'sku-0001', quantity: 1 }],
        },
      })
      .willRespondWith({
        status: 202,
        headers: { ...json, Location: regex(`^/api/orders/${UUID}$`, `/api/orders/${ORDER_ID}`) },
        body: { id: uuid(ORDER_ID), status: regex(STATUS, 'PENDING_PAYMENT') },
      })
      .given('an order was placed', { orderId: ORDER_ID })
      .uponReceiving("an order's status and history")
      .withRequest({ method: 'GET', path: `/api/orders/${ORDER_ID}`, headers: auth })
      .willRespondWith({
        status: 200,
        headers: json,
        body: {
          status: regex(STATUS, 'CONFIRMED'),
          history: eachLike({
            status: regex(STATUS, 'PENDING_PAYMENT'),
            at: string('2026-12-07T10:00:00.000Z'),
          }),
        },
      })
      .given('an order was paid', { orderId: ORDER_ID })
      .uponReceiving("an order's payment")
      .withRequest({ method: 'GET', path: `/api/payments/${ORDER_ID}`, headers: auth })
      .willRespondWith({ status: 200, headers: json, body: { status: string('CAPTURED') } });

    await pact.executeTest(async (mock) => {
      const site = await front(new URL(mock.url));
      const page = await browser.context.newPage();
      try {
        await page.goto(site.url);
        await page.getByRole('button', { name: 'Order Sea kayak' }).click();
        const card = page.locator('#orders .order', { hasText: 'Sea kayak' }).first();
        await card.locator('.order-status-value', { hasText: /^Confirmed$/ }).waitFor({ timeout: 15_000 });
        await card.getByText('Payment: captured').waitFor({ timeout: 15_000 });
      } finally {
        await page.close();
        await site.close();
      }
    });
  });

  it('the generated pact is the committed contracts/pacts/frontend-gateway.json', () => {
    expect(
      assertPactCommitted(
        scratch.dir,
        PACTICIPANTS.frontend,
        PACTICIPANTS.gateway,
        'services/frontend/test/pact/gateway-consumer.pact.test.ts',
      ),
    ).toBe(4);
  });
});
