/**
 * The shop page against the real platform: Redis, one PostgreSQL per service,
 * catalog, orders, payments, notifications, both gateway processes and the
 * frontend, started by local/'s own platform list and supervisor on free
 * ports. Headless Chromium loads the page through the gateway, places an
 * order and sees it confirmed; with the catalog process stopped it sees the
 * gateway's last good products marked as saved data (stale-if-error) while
 * the orders part still works; started again, fresh products come back. The
 * catalog banner for an answer nobody kept is tested against a stand-in
 * gateway (page-stand-in.test.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, launchBrowser } from '@breakwater/local/chromium';
import { buildPlatform, PLATFORM } from '@breakwater/local/platform';
import { Supervisor } from '@breakwater/local/supervisor';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const SCREENSHOTS = join(ROOT, '.run', 'screenshots');

/** The page's public consumer key, as gateway.yaml defines it (consumer `shop-frontend`). */
function publicKey(): string {
  const config = parse(readFileSync(join(ROOT, 'gateway', 'gateway.yaml'), 'utf8')) as {
    consumers: { name: string; apiKeys?: string[] }[];
  };
  const key = config.consumers.find((c) => c.name === 'shop-frontend')?.apiKeys?.[0];
  if (!key) throw new Error('gateway.yaml defines no API key for consumer shop-frontend');
  return key;
}

let runDir: string;
let supervisor: Supervisor;
let gatewayUrl: string;
let browser: Browser;
let page: Page;
const apiKey = publicKey();

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  runDir = mkdtempSync(join(tmpdir(), 'bw-frontend-platform-'));
  const platform = await buildPlatform({
    root: ROOT,
    runDir,
    gatewayPort: 0,
    adminToken: 'frontend-test-admin-token-0123456789',
    // No trace backend either: this test reads no traces (a JVM costs ~150 MiB and seconds of CPU).
    only: PLATFORM.filter((e) => !['prometheus', 'grafana', 'zipkin'].includes(e.kind)).map((e) => e.name),
  });
  expect(platform.skipped).toEqual([]); // every service exists: this is the whole shop
  // local/ hands the frontend the gateway's public consumer key (from gateway.yaml).
  const frontendEnv = platform.specs.find((spec) => spec.name === 'frontend')?.env ?? {};
  expect(frontendEnv.FRONTEND_API_KEY).toBe(apiKey);
  supervisor = new Supervisor(platform.specs);
  await supervisor.startAll();
  const url = supervisor.get('gateway-1').status().url;
  if (!url) throw new Error('gateway-1 has no URL');
  gatewayUrl = url;
  browser = await launchBrowser();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
  // Services and gateways are SIGKILLed (their graceful drain is tested
  // elsewhere and would add seconds per tier); Redis and PostgreSQL stop cleanly.
  const apps =
    supervisor?.processes.filter((p) => p.spec.kind === 'service' || p.spec.kind === 'gateway') ?? [];
  await Promise.allSettled(apps.map((p) => p.kill()));
  await supervisor?.stopAll();
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

const orderCard = (text: string) => page.locator('#orders .order', { hasText: text }).first();
const statusReads = (card: ReturnType<typeof orderCard>, label: string, timeout = 20_000) =>
  card.locator('.order-status-value', { hasText: new RegExp(`^${label}$`) }).waitFor({ timeout });

describe('shop page on the real platform (through the gateway)', () => {
  let productName = '';

  it('places an order and sees it confirmed, with its payment', async () => {
    await page.goto(gatewayUrl);
    const firstProduct = page.locator('#product-list .product').first();
    await firstProduct.waitFor();
    productName = (await firstProduct.locator('.product-name').textContent()) ?? '';
    expect(productName).not.toBe('');

    // 40 seeded products, 12 a page: "Show more" follows the cursor.
    expect(await page.locator('#product-list .product').count()).toBe(12);
    await page.getByRole('button', { name: 'Show more products' }).click();
    await expect.poll(() => page.locator('#product-list .product').count()).toBe(24);

    await firstProduct.getByRole('button', { name: `Order ${productName}` }).click();
    const card = orderCard(productName);
    await statusReads(card, 'Confirmed');
    await card.getByText('Payment: captured').waitFor({ timeout: 10_000 });
    expect(await page.locator('#catalog-banner').isVisible()).toBe(false);
    expect(await page.locator('#orders-banner').isVisible()).toBe(false);
    await page.screenshot({
      path: join(SCREENSHOTS, 'frontend-platform-order-confirmed.png'),
      fullPage: true,
    });
  }, 60_000);

  it("with catalog stopped shows the gateway's last good products marked as saved data while orders keep working, then fresh ones", async () => {
    await supervisor.get('catalog').stop();
    // The gateway stands in for the stopped catalog with its last good answer (stale-if-error).
    await page.reload();
    const note = page.locator('#catalog-note');
    await note.waitFor({ state: 'visible' });
    expect(await note.textContent()).toContain('Showing saved product data');
    expect(await page.locator('#product-list .product').count()).toBeGreaterThan(0);
    expect(await page.locator('#catalog-banner').isVisible()).toBe(false);
    expect(await page.locator('#page-banner').isVisible()).toBe(false);

    // The order placed before the outage is still followed, straight from orders.
    const card = orderCard(productName);
    await statusReads(card, 'Confirmed');
    expect(await card.locator('.order-banner').isVisible()).toBe(false);
    await page.screenshot({ path: join(SCREENSHOTS, 'frontend-platform-catalog-down.png'), fullPage: true });

    await supervisor.get('catalog').start();
    // catalog's answers may be kept for 1 s (max-age=1): reload until a fresh one arrives.
    const deadline = Date.now() + 45_000;
    while ((await note.isVisible()) && Date.now() < deadline) {
      await page.reload();
      await page.locator('#product-list .product').first().waitFor({ state: 'visible' });
      if (await note.isVisible()) await page.waitForTimeout(250);
    }
    expect(await note.isVisible()).toBe(false);
    expect(await page.locator('#product-list .product').count()).toBeGreaterThan(0);
  }, 90_000);
});
