/**
 * A stand-in for the gateway and the shop services, real HTTP on loopback:
 * `/api/*` answers the public contract from memory (catalog, orders that
 * confirm after a few polls, payments), everything else is proxied to the
 * frontend service under test. Each part can be switched to failing so the
 * page's per-section degradation can be watched in a real browser.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInState {
  /** Catalog answers 503 problem+json with Retry-After when false. */
  catalogUp: boolean;
  /** POST /api/orders answers 429 problem+json with Retry-After when true. */
  ordersRateLimited: boolean;
  /** Every /api/orders request answers 503 problem+json with Retry-After when false. */
  ordersUp: boolean;
  /** Polls of an order that still answer PENDING_PAYMENT before it confirms. */
  pendingPolls: number;
}

export interface StandIn {
  readonly url: string;
  readonly state: StandInState;
  /** Requests seen per `METHOD path-template`. */
  readonly seen: Map<string, number>;
  /** apikey headers seen on /api requests. */
  readonly apiKeys: Set<string>;
  close(): Promise<void>;
}

const PRODUCTS = [
  {
    id: 'kayak',
    name: 'Sea kayak',
    description: 'Stable, fast.',
    priceCents: 89_900,
    currency: 'EUR',
    stock: 4,
  },
  {
    id: 'paddle',
    name: 'Carbon paddle',
    description: 'Light.',
    priceCents: 14_900,
    currency: 'EUR',
    stock: 12,
  },
  {
    id: 'vest',
    name: 'Buoyancy vest',
    description: 'Sold out.',
    priceCents: 7_900,
    currency: 'EUR',
    stock: 0,
  },
];

/**
 * Forwards `req` to `target` (same method, path and headers) and pipes the
 * answer back; `onError` answers when `target` cannot be reached.
 */
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  target: URL,
  onError: () => void = () => res.writeHead(502).end(),
): void {
  const out = request(
    { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  out.on('error', onError);
  req.pipe(out);
}

export async function startStandIn(options: { frontendUrl: string; apiKey: string }): Promise<StandIn> {
  const state: StandInState = { catalogUp: true, ordersRateLimited: false, ordersUp: true, pendingPolls: 2 };
  const seen = new Map<string, number>();
  const apiKeys = new Set<string>();
  const orders = new Map<string, { polls: number; productId: string; at: string }>();
  const upstream = new URL(options.frontendUrl);

  const count = (key: string) => seen.set(key, (seen.get(key) ?? 0) + 1);
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const problem = (
    res: ServerResponse,
    status: number,
    title: string,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'Content-Type': 'application/problem+json', ...headers });
    res.end(JSON.stringify({ type: 'about:blank', title, status, code: `TEST_${status}` }));
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    apiKeys.add(String(req.headers.apikey ?? ''));
    if (req.headers.apikey !== options.apiKey) return problem(res, 401, 'Unknown API key');
    const product = url.pathname.match(/^\/api\/catalog\/products\/([^/]+)$/);
    const order = url.pathname.match(/^\/api\/orders\/([^/]+)$/);
    const payment = url.pathname.match(/^\/api\/payments\/([^/]+)$/);
    if (url.pathname.startsWith('/api/catalog/')) {
      count(product ? 'GET /api/catalog/products/{id}' : 'GET /api/catalog/products');
      if (!state.catalogUp) return problem(res, 503, 'Catalog is unavailable', { 'Retry-After': '1' });
      if (product) {
        const found = PRODUCTS.find((p) => p.id === product[1]);
        return found ? json(res, 200, found) : problem(res, 404, 'No such product');
      }
      return json(res, 200, { items: PRODUCTS, nextCursor: null });
    }
    if (url.pathname.startsWith('/api/orders') && !state.ordersUp) {
      count(`${req.method} /api/orders (down)`);
      return problem(res, 503, 'Orders are unavailable', { 'Retry-After': '2' });
    }
    if (req.method === 'POST' && url.pathname === '/api/orders') {
      count('POST /api/orders');
      let body = '';
      for await (const chunk of req) body += chunk;
      if (state.ordersRateLimited)
        return problem(res, 429, 'Too many orders from you', { 'Retry-After': '3' });
      if (!req.headers['idempotency-key']) return problem(res, 400, 'Idempotency-Key is required');
      // The orders service's request shape (strict): a customerId and lines.
      const parsed = JSON.parse(body) as { customerId?: unknown; items?: { productId?: unknown }[] };
      const productId = parsed.items?.[0]?.productId;
      if (typeof parsed.customerId !== 'string' || typeof productId !== 'string') {
        return problem(res, 400, 'Invalid order');
      }
      const id = randomUUID();
      const at = new Date().toISOString();
      orders.set(id, { polls: 0, productId, at });
      return json(res, 202, { id, status: 'PENDING_PAYMENT' }, { Location: `/api/orders/${id}` });
    }
    if (req.method === 'GET' && order?.[1]) {
      count('GET /api/orders/{id}');
      const o = orders.get(order[1]);
      if (!o) return problem(res, 404, 'No such order');
      o.polls++;
      const confirmed = o.polls > state.pendingPolls;
      const history = [{ status: 'PENDING_PAYMENT', at: o.at }];
      if (confirmed) history.push({ status: 'CONFIRMED', at: new Date().toISOString() });
      return json(res, 200, { id: order[1], status: confirmed ? 'CONFIRMED' : 'PENDING_PAYMENT', history });
    }
    if (req.method === 'GET' && payment?.[1]) {
      count('GET /api/payments/{orderId}');
      return orders.has(payment[1])
        ? json(res, 200, { orderId: payment[1], status: 'CAPTURED' })
        : problem(res, 404, 'No payment');
    }
    return problem(res, 404, 'Not Found');
  };

  const server = createServer((req, res) => {
    res.setHeader('X-Request-Id', randomUUID());
    const url = new URL(req.url ?? '/', 'http://stand-in');
    if (url.pathname.startsWith('/api/')) {
      api(req, res, url).catch(() => problem(res, 500, 'Stand-in failed'));
      return;
    }
    forward(req, res, upstream, () => problem(res, 502, 'Frontend unreachable'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    state,
    seen,
    apiKeys,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
