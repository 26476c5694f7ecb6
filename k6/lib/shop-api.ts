/**
 * The public contract as k6 calls it. Every request is tagged with
 * `route` (the route's template name, never the raw URL — also set as k6's
 * `name` tag so ids don't explode the metric series) and `phase` (from the
 * drill schedule, see phases.ts), classified into ok / degraded / failure
 * (outcome.ts) and checked against the contract (checks.ts).
 *
 * Every request also starts its own W3C trace: k6 sends a `traceparent`
 * with a fresh trace id (the gateway continues the client's trace) and puts
 * that id on the request's samples as metadata (`trace_id`, in `--out json`
 * only: metadata is not a tag, so it adds no metric series). The drill
 * report picks the slowest and failed requests from those samples and
 * fetches their traces from Zipkin.
 */

import exec from 'k6/execution';
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import { checkContract } from './checks.ts';
import { authHeaders, baseUrl, type Credentials, defaultCredentials } from './config.ts';
import { type Classified, record } from './outcome.ts';
import { currentPhase } from './phases.ts';

/** Route template names: the `route` tag on requests and outcome metrics. */
export const ROUTES = {
  shop_page: { method: 'GET', template: '/' },
  catalog_list: { method: 'GET', template: '/api/catalog/products' },
  catalog_product: { method: 'GET', template: '/api/catalog/products/{id}' },
  orders_create: { method: 'POST', template: '/api/orders', normal: [202] },
  orders_get: { method: 'GET', template: '/api/orders/{id}' },
  payments_get: { method: 'GET', template: '/api/payments/{orderId}' },
} as const satisfies Record<string, { method: string; template: string; normal?: readonly number[] }>;

export type RouteName = keyof typeof ROUTES;

export interface Answer {
  readonly res: RefinedResponse<ResponseType | undefined>;
  readonly outcome: Classified;
  /** The phase the request was sent in (its metrics carry it too, whenever the answer came). */
  readonly phase: string;
}

export interface ClientOptions {
  readonly baseUrl?: string;
  readonly credentials?: Credentials;
  /** Extra tags on every request (e.g. `consumer`). */
  readonly tags?: Record<string, string>;
  /** Per-request timeout (k6 syntax), default 10s. */
  readonly timeout?: string;
}

export interface ShopApi {
  call(route: RouteName, path: string, body?: unknown, headers?: Record<string, string>): Answer;
  shopPage(): Answer;
  listProducts(limit?: number, cursor?: string): Answer;
  getProduct(id: string): Answer;
  /** `customerId` defaults to `k6-vu<n>` (one shopper per VU). */
  placeOrder(items: readonly OrderItem[], options?: { idempotencyKey?: string; customerId?: string }): Answer;
  getOrder(id: string): Answer;
  getPayment(orderId: string): Answer;
}

export interface OrderItem {
  readonly productId: string;
  readonly quantity: number;
}

export function shopApi(options: ClientOptions = {}): ShopApi {
  const base = (options.baseUrl ?? baseUrl()).replace(/\/+$/, '');
  const auth = authHeaders(options.credentials ?? defaultCredentials());
  const timeout = options.timeout ?? '10s';

  const call = (
    route: RouteName,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Answer => {
    const spec: { method: string; normal?: readonly number[] } = ROUTES[route];
    const tags = { ...options.tags, route, name: route, phase: currentPhase() };
    const traceId = randomHex(32);
    exec.vu.metrics.metadata.trace_id = traceId;
    const params = {
      headers: {
        ...auth,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        traceparent: `00-${traceId}-${randomHex(16)}-01`,
        ...headers,
      },
      tags,
      timeout,
    };
    const res = http.request(
      spec.method,
      `${base}${path}`,
      body === undefined ? null : JSON.stringify(body),
      params,
    );
    const metricTags = { ...options.tags, route, phase: tags.phase };
    const outcome = record(res, metricTags, spec.normal);
    checkContract(res, metricTags);
    delete exec.vu.metrics.metadata.trace_id;
    return { res, outcome, phase: tags.phase };
  };

  return {
    call,
    shopPage: () => call('shop_page', '/'),
    listProducts: (limit = 20, cursor) =>
      call(
        'catalog_list',
        `/api/catalog/products?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      ),
    getProduct: (id) => call('catalog_product', `/api/catalog/products/${encodeURIComponent(id)}`),
    placeOrder: (items, opts = {}) =>
      call(
        'orders_create',
        '/api/orders',
        { customerId: opts.customerId ?? `k6-vu${exec.vu.idInTest}`, items },
        { 'Idempotency-Key': opts.idempotencyKey ?? uuid() },
      ),
    getOrder: (id) => call('orders_get', `/api/orders/${encodeURIComponent(id)}`),
    getPayment: (orderId) => call('payments_get', `/api/payments/${encodeURIComponent(orderId)}`),
  };
}

/** Product ids from a product page, whatever the envelope (`items`, `products`, `data` or a bare array). */
export function productIds(answer: Answer): string[] {
  if (answer.res.status !== 200) return [];
  try {
    const body = JSON.parse(String(answer.res.body)) as unknown;
    const list = Array.isArray(body)
      ? body
      : ((body as Record<string, unknown>).items ??
        (body as Record<string, unknown>).products ??
        (body as Record<string, unknown>).data);
    if (!Array.isArray(list)) return [];
    return list
      .map((p) => (p as { id?: unknown }).id)
      .filter((id): id is string | number => typeof id === 'string' || typeof id === 'number')
      .map(String);
  } catch {
    return [];
  }
}

/** The order id from a 202's `Location: /api/orders/{id}` (or the body's `id`). */
export function orderIdFrom(answer: {
  readonly res: Pick<Answer['res'], 'headers' | 'body'>;
}): string | undefined {
  const location = answer.res.headers.Location ?? answer.res.headers.location;
  const fromLocation = location?.match(/\/api\/orders\/([^/?#]+)/)?.[1];
  if (fromLocation) return decodeURIComponent(fromLocation);
  try {
    const id = (JSON.parse(String(answer.res.body)) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** `length` lowercase hex digits from Math.random — enough for trace and span ids in a load test. */
export function randomHex(length: number): string {
  let out = '';
  while (out.length < length) out += ((Math.random() * 0x100000000) >>> 0).toString(16).padStart(8, '0');
  return out.slice(0, length);
}

/** RFC 4122 v4 from Math.random — enough for idempotency keys in a load test. */
export function uuid(): string {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = (Math.random() * 16) | 0;
    return (c === 'x' ? r : (r & 0x3) | 0x8).toString(16);
  });
}
