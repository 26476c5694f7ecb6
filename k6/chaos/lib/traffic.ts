/**
 * The traffic drills drive and the probes they use for the steady-state gate
 * and for time to recover. Probes are plain requests tagged `route:probe` so
 * they never count in the verdict.
 */

import { sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { isStale } from '../../lib/classify.ts';
import {
  authHeaders,
  baseUrl,
  type Credentials,
  defaultCredentials,
  env,
  envNumber,
} from '../../lib/config.ts';
import { orderIdFrom, productIds, type ShopApi, shopApi, uuid } from '../../lib/shop-api.ts';
import { customerId, drillName, processes, withServed } from './drill.ts';

/** Product ids the seed holds (services/catalog/migrations/002): sku-0001 … sku-0040. */
export const SEED_PRODUCTS: readonly string[] = Array.from(
  { length: 40 },
  (_, i) => `sku-${String(i + 1).padStart(4, '0')}`,
);

/** The short schedule (`SHORT=true`, what CI runs). */
export const isShort = (): boolean => env('SHORT') === 'true';

/**
 * Default share of visits that order in the short form: enough orders in
 * its 8–20 s phases for the orders rows to be judged (≥ 50 per phase).
 */
export const SHORT_ORDER_SHARE = 0.6;

/** Marks an accepted order's id in k6's log (local/src/drill/invariants.ts reads it). */
export const ACCEPTED_MARK = 'bw_accepted';

/**
 * One visit: a product page, one product, and for `ORDER_SHARE` of visits
 * (default 0.25, {@link SHORT_ORDER_SHARE} in the short form) an order with
 * this run's customer id. Returns the order id of an accepted order.
 */
export function drillJourney(
  api: ShopApi,
  orderShare = envNumber('ORDER_SHARE', isShort() ? SHORT_ORDER_SHARE : 0.25),
): string | undefined {
  const ids = productIds(api.listProducts(20));
  const pool = ids.length > 0 ? ids : SEED_PRODUCTS;
  const productId = pool[Math.floor(Math.random() * pool.length)] as string;
  api.getProduct(productId);
  if (Math.random() >= orderShare) return undefined;
  const placed = api.placeOrder([{ productId, quantity: 1 }], { customerId: customerId() });
  const id = placed.res.status === 202 ? orderIdFrom(placed) : undefined;
  // One line per 202: the runner checks each of these ids is in the orders database.
  if (id !== undefined) console.log(`${ACCEPTED_MARK} ${id}`);
  return id;
}

export interface ShopTrafficOptions {
  /** Share of visits that order (default `ORDER_SHARE`, else 0.25). */
  readonly orderShare?: number;
  /** Read each accepted order back (`orders_get`). */
  readonly readBack?: boolean;
}

/**
 * The main traffic as a scenario function: drill journeys as the default
 * consumer (alice), every answer feeding `served`. Call in the init context.
 */
export function shopTraffic(opts: ShopTrafficOptions = {}): () => void {
  const api = withServed(shopApi());
  return () => {
    const orderId = drillJourney(api, opts.orderShare);
    if (opts.readBack === true && orderId !== undefined) api.getOrder(orderId);
  };
}

/** Reads only: a product page and one product. */
export function browse(api: ShopApi): void {
  const ids = productIds(api.listProducts(20));
  const pool = ids.length > 0 ? ids : SEED_PRODUCTS;
  api.getProduct(pool[Math.floor(Math.random() * pool.length)] as string);
}

// --- probes ---------------------------------------------------------------------

const probeTags = { route: 'probe', name: 'probe' };

export interface ProbeResult {
  readonly status: number;
  readonly durationMs: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export function probe(
  method: string,
  path: string,
  body?: unknown,
  credentials: Credentials = defaultCredentials(),
  headers: Record<string, string> = {},
): ProbeResult {
  const res = http.request(method, `${baseUrl()}${path}`, body === undefined ? null : JSON.stringify(body), {
    headers: {
      ...authHeaders(credentials),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...headers,
    },
    tags: probeTags,
    timeout: '10s',
    responseCallback: http.expectedStatuses({ min: 100, max: 599 }),
  });
  return {
    status: res.status,
    durationMs: res.timings.duration,
    headers: res.headers,
    body: String(res.body ?? ''),
  };
}

/** `n` product reads in a row, each answered 200 within `maxMs` (and fresh, unless `stale`). */
export function readsHold(n: number, maxMs = 1_000, credentials?: Credentials, stale = true): boolean {
  for (let i = 0; i < n; i++) {
    const id = SEED_PRODUCTS[Math.floor(Math.random() * SEED_PRODUCTS.length)] as string;
    const r = probe('GET', `/api/catalog/products/${id}`, undefined, credentials);
    if (r.status !== 200 || r.durationMs > maxMs) return false;
    if (!stale && isStale(r)) return false;
  }
  return true;
}

/** Places one order and waits (up to `waitMs`) until it reaches a final state. */
export function orderCompletes(waitMs: number): boolean {
  const placed = probe(
    'POST',
    '/api/orders',
    {
      customerId: `probe-${drillName()}-${exec.vu.idInTest}`,
      items: [{ productId: 'sku-0001', quantity: 1 }],
    },
    undefined,
    { 'Idempotency-Key': uuid() },
  );
  if (placed.status !== 202) return false;
  const id = orderIdFrom({ res: placed });
  if (id === undefined) return false;
  const until = Date.now() + waitMs;
  for (let i = 0; i < 1_000 && Date.now() < until; i++) {
    const got = probe('GET', `/api/orders/${id}`);
    if (got.status === 200 && /"status"\s*:\s*"(CONFIRMED|CANCELLED)"/.test(got.body)) return true;
    sleep(0.2);
  }
  return false;
}

/**
 * The steady-state gate: every platform process the drill needs (a service
 * name: each of its instances) is running
 * and `holds()` is true; otherwise the drill refuses to start (k6 exits 108).
 */
export function requireSteadyState(
  needed: readonly string[],
  holds: () => boolean,
  prepare: () => void = () => {},
): void {
  // A service's name stands for every instance of it (catalog → catalog-1, catalog-2, …).
  const all = processes();
  const of = (n: string) =>
    all.some((p) => p.name === n)
      ? all.filter((p) => p.name === n)
      : all.filter((p) => new RegExp(`^${n}-\\d+$`).test(p.name));
  const down = needed.flatMap(of).filter((p) => p.state !== 'running');
  const missing = needed.filter((n) => of(n).length === 0);
  if (down.length > 0 || missing.length > 0) {
    exec.test.abort(
      `steady state does not hold: ${[...down.map((p) => `${p.name} is ${p.state}`), ...missing.map((m) => `${m} is not part of the run`)].join(', ')} — refusing to start`,
    );
  }
  prepare();
  if (!holds())
    exec.test.abort('steady state does not hold: the hypothesis fails before any fault — refusing to start');
}

/** Warms the catalog cache: every product and the first page, so stale copies exist. */
export function warmCatalog(): void {
  probe('GET', '/api/catalog/products?limit=20');
  for (const id of SEED_PRODUCTS) probe('GET', `/api/catalog/products/${id}`);
}
