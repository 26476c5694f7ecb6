/**
 * The shop page in a real headless Chromium, served by the real frontend
 * service, behind a stand-in gateway on loopback (stand-in-gateway.ts): the
 * page orders and sees the order confirm; with the catalog failing it shows
 * the catalog banner while the orders part keeps working; a 429 shows the
 * problem's title and pauses ordering for Retry-After.
 * (page-platform.test.ts runs the same journey against the real platform.)
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type Browser, launchBrowser } from '@breakwater/local/chromium';
import type { ServiceApp } from '@breakwater/mesh/server';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { type StandIn, startStandIn } from './support/stand-in-gateway.ts';

interface AxeGlobal {
  run(
    context: unknown,
    options: object,
  ): Promise<{ violations: { id: string; help: string; nodes: unknown[] }[] }>;
}
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const SCREENSHOTS = resolve(import.meta.dirname, '..', '..', '..', '.run', 'screenshots');
const API_KEY = 'test-public-key';

let frontend: ServiceApp;
let gateway: StandIn;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const config = loadConfig({
    FRONTEND_API_KEY: API_KEY,
    FRONTEND_POLL_INITIAL_MS: '100',
    FRONTEND_POLL_MAX_MS: '400',
  });
  frontend = buildApp(config, { server: { signals: [], drainDelayMs: 0, accessLog: false } });
  const { port } = await frontend.listen({ host: '127.0.0.1', port: 0 });
  gateway = await startStandIn({ frontendUrl: `http://127.0.0.1:${port}`, apiKey: API_KEY });
  browser = await launchBrowser();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
  await frontend?.shutdown('test done');
});

beforeEach(() => {
  gateway.state.catalogUp = true;
  gateway.state.ordersRateLimited = false;
  gateway.state.ordersUp = true;
});

/** axe-core's WCAG 2 A/AA violations on the page as it is now (axe must have been evaluated in it). */
const axeViolations = () =>
  page.evaluate(async () => {
    const g = globalThis as unknown as { axe: AxeGlobal; document: unknown };
    const result = await g.axe.run(g.document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.length})`);
  });

const catalog = () => page.locator('#catalog');
const orders = () => page.locator('#orders');
/** The first (newest) order card mentioning `text`. */
const orderCard = (text: string) => orders().locator('.order', { hasText: text }).first();
/** Resolves once the card's status reads `label`. */
const statusReads = (card: ReturnType<typeof orderCard>, label: string, timeout = 10_000) =>
  card.locator('.order-status-value', { hasText: new RegExp(`^${label}$`) }).waitFor({ timeout });

describe('shop page (frontend service behind a stand-in gateway)', () => {
  it('lists products, places an order and follows it until it is confirmed', async () => {
    await page.goto(gateway.url);
    await expect.poll(() => catalog().getByRole('listitem').count()).toBe(3);
    await expect(page.getByRole('button', { name: 'Order Buoyancy vest' }).isDisabled()).resolves.toBe(true);

    await page.getByRole('button', { name: 'Order Sea kayak' }).click();
    const card = orderCard('Sea kayak');
    await statusReads(card, 'Confirmed');
    await card.getByText('Payment: captured').waitFor();

    expect(gateway.apiKeys).toEqual(new Set([API_KEY])); // the key came from /config.json
    expect(gateway.seen.get('GET /api/orders/{id}')).toBeGreaterThanOrEqual(3); // polled until final
    expect(await card.locator('.order-history li').allTextContents()).toEqual([
      expect.stringMatching(/^Waiting for payment/),
      expect.stringMatching(/^Confirmed/),
    ]);
    await page.screenshot({
      path: join(SCREENSHOTS, 'frontend-stand-in-order-confirmed.png'),
      fullPage: true,
    });
  });

  it('shows the catalog banner when the catalog fails while orders keep working', async () => {
    gateway.state.catalogUp = false;
    await page.goto(gateway.url);

    const banner = page.locator('#catalog-banner');
    await banner.waitFor({ state: 'visible' });
    expect(await banner.textContent()).toContain(
      'Products are unavailable right now: Catalog is unavailable.',
    );
    expect(await page.locator('#orders-banner').isVisible()).toBe(false);

    // The order from the previous test is remembered and still followed.
    await statusReads(orderCard('Sea kayak'), 'Confirmed');

    // Tracking works without the catalog: a fresh order placed through the API, tracked by id.
    const placed = await page.request.post(`${gateway.url}/api/orders`, {
      headers: { apikey: API_KEY, 'Idempotency-Key': 'track-by-id' },
      data: { customerId: 'tester', items: [{ productId: 'paddle', quantity: 1 }] },
    });
    expect(placed.status()).toBe(202);
    const id = ((await placed.json()) as { id: string }).id;
    await page.getByLabel('Order id').fill(id);
    await page.getByRole('button', { name: 'Track' }).click();
    await statusReads(orders().locator(`[data-order-id="${id}"]`), 'Confirmed');
    await page.screenshot({ path: join(SCREENSHOTS, 'frontend-stand-in-catalog-down.png'), fullPage: true });

    // And the catalog comes back on its own (Retry-After: 1) once it recovers.
    gateway.state.catalogUp = true;
    await banner.waitFor({ state: 'hidden', timeout: 10_000 });
    expect(await catalog().getByRole('listitem').count()).toBe(3);
  });

  it('keeps the products working while orders are down, with the banners inside the orders part', async () => {
    gateway.state.ordersUp = false;
    await page.goto(gateway.url);
    await expect.poll(() => catalog().locator('.product').count()).toBe(3);

    // Remembered orders say their status is unavailable, each in its own card, and keep trying.
    const remembered = orderCard('Sea kayak');
    await remembered.locator('.order-banner').waitFor({ state: 'visible' });
    expect(await remembered.locator('.order-banner').textContent()).toContain(
      'Status unavailable: Orders are unavailable.',
    );

    await page.getByRole('button', { name: 'Order Sea kayak' }).click();
    const banner = page.locator('#orders-banner');
    await banner.waitFor({ state: 'visible' });
    expect(await banner.textContent()).toContain(
      'Your order for Sea kayak was not placed: Orders are unavailable. You can try again in 2 s.',
    );
    expect(await page.locator('#catalog-banner').isVisible()).toBe(false);
    expect(await catalog().locator('.product').count()).toBe(3);
    await page.screenshot({ path: join(SCREENSHOTS, 'frontend-stand-in-orders-down.png'), fullPage: true });

    // Orders back: the remembered card recovers on its next poll.
    gateway.state.ordersUp = true;
    await remembered.locator('.order-banner').waitFor({ state: 'hidden', timeout: 10_000 });
    await statusReads(remembered, 'Confirmed');
  });

  it('has no axe-core accessibility violations (WCAG 2 A and AA), banners included', async () => {
    gateway.state.catalogUp = false;
    await page.goto(gateway.url);
    await page.locator('#catalog-banner').waitFor({ state: 'visible' });
    await statusReads(orderCard('Sea kayak'), 'Confirmed');
    // Evaluated through the DevTools protocol, so the page's CSP does not block it.
    await page.evaluate(AXE_SOURCE);
    const violations = await axeViolations();
    expect(violations).toEqual([]);

    gateway.state.catalogUp = true;
    await page.locator('#catalog-banner').waitFor({ state: 'hidden', timeout: 10_000 });
    const withProducts = await axeViolations();
    expect(withProducts).toEqual([]);
  });

  it('shows a 429 problem title and pauses ordering for Retry-After', async () => {
    gateway.state.ordersRateLimited = true;
    await page.goto(gateway.url);
    const button = page.getByRole('button', { name: 'Order Carbon paddle' });
    await button.click();
    const banner = page.locator('#orders-banner');
    await banner.waitFor({ state: 'visible' });
    expect(await banner.textContent()).toContain(
      'Your order for Carbon paddle was not placed: Too many orders from you. You can try again in 3 s.',
    );
    expect(await button.isDisabled()).toBe(true);
    expect(await banner.getByRole('button', { name: 'Try again' }).isDisabled()).toBe(true); // not before Retry-After
    // Retrying the same attempt reuses its Idempotency-Key; once admitted, the order goes through.
    gateway.state.ordersRateLimited = false;
    await banner.getByRole('button', { name: 'Try again' }).click();
    await statusReads(orderCard('Carbon paddle'), 'Confirmed');
    await button.waitFor({ state: 'visible' });
    await expect.poll(() => button.isEnabled(), { timeout: 5_000 }).toBe(true);
  });
});
