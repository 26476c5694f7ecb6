/**
 * A tiny stand-in for the gateway, real HTTP on loopback: the public contract's
 * shop routes plus a fixed-window rate limiter per consumer with the gateway's
 * headers. It lets the k6 scripts be proven on their own, independently of the
 * gateway — including against a server that misbehaves on purpose.
 */

import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ConsumerLimit {
  readonly name: string;
  /** Announced quota per window. */
  readonly limit: number;
}

export interface ContractServerOptions {
  /** apikey → consumer. */
  readonly consumers: Record<string, ConsumerLimit>;
  /** Fixed window length, ms (default 1000). */
  readonly windowMs?: number;
  /** Misbehaviour: admit this many times the announced quota (default 1). */
  readonly admitFactor?: number;
  /** Misbehaviour: answer POST /api/orders with a bare 500 (default false). */
  readonly failOrders?: boolean;
  /**
   * The catalog down: `unavailable` answers 503 problem+json with Retry-After
   * (an honest, degraded answer), `bare503` the same without Retry-After.
   */
  readonly catalogDown?: 'unavailable' | 'bare503';
}

export interface ContractServer {
  readonly url: string;
  readonly counts: { admitted: number; rejected: number };
  close(): Promise<void>;
}

const PRODUCTS = Array.from({ length: 5 }, (_, i) => ({
  id: `p-${i + 1}`,
  name: `Product ${i + 1}`,
  stock: 100,
}));

export async function startContractServer(options: ContractServerOptions): Promise<ContractServer> {
  const windowMs = options.windowMs ?? 1_000;
  const factor = options.admitFactor ?? 1;
  const used = new Map<string, { window: number; count: number }>();
  const counts = { admitted: 0, rejected: 0 };

  const problem = (
    res: ServerResponse,
    status: number,
    title: string,
    extra: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'Content-Type': 'application/problem+json', ...extra });
    res.end(JSON.stringify({ type: 'about:blank', title, status }));
  };
  const json = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...extra });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('X-Request-Id', randomUUID());
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/' && req.method === 'GET') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<!doctype html><title>shop</title>');
      return;
    }
    const consumer = options.consumers[String(req.headers.apikey ?? '')];
    if (consumer === undefined) return problem(res, 401, 'Unauthorized');

    const now = Date.now();
    const window = Math.floor(now / windowMs);
    const state = used.get(consumer.name);
    const entry = state?.window === window ? state : { window, count: 0 };
    used.set(consumer.name, entry);
    const resetS = Math.max(1, Math.ceil(((window + 1) * windowMs - now) / 1_000));
    const remaining = Math.max(0, consumer.limit - entry.count - 1);
    const windowS = windowMs / 1_000;
    res.setHeader('RateLimit-Policy', `"default";q=${consumer.limit};w=${windowS}`);
    res.setHeader('RateLimit', `"default";r=${remaining};t=${resetS}`);
    res.setHeader('X-RateLimit-Limit', String(consumer.limit));
    res.setHeader('X-RateLimit-Remaining', String(remaining));
    res.setHeader('X-RateLimit-Reset', String(resetS));
    if (entry.count >= consumer.limit * factor) {
      counts.rejected++;
      return problem(res, 429, 'Too Many Requests', { 'Retry-After': String(resetS) });
    }
    entry.count++;
    counts.admitted++;

    const product = url.pathname.match(/^\/api\/catalog\/products\/([^/]+)$/);
    const order = url.pathname.match(/^\/api\/orders\/([^/]+)$/);
    if (url.pathname.startsWith('/api/catalog/') && options.catalogDown !== undefined) {
      const retry: Record<string, string> =
        options.catalogDown === 'unavailable' ? { 'Retry-After': '1' } : {};
      return problem(res, 503, 'Catalog unavailable', retry);
    }
    if (req.method === 'GET' && url.pathname === '/api/catalog/products') {
      return json(res, 200, { items: PRODUCTS, nextCursor: null });
    }
    if (req.method === 'GET' && product) {
      const found = PRODUCTS.find((p) => p.id === product[1]);
      return found ? json(res, 200, found) : problem(res, 404, 'Product not found');
    }
    if (req.method === 'POST' && url.pathname === '/api/orders') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const order = JSON.parse(body) as { customerId?: unknown; items?: { productId?: unknown }[] };
      if (typeof order.customerId !== 'string' || typeof order.items?.[0]?.productId !== 'string') {
        return problem(res, 400, 'Invalid order');
      }
      if (options.failOrders) {
        res.writeHead(500);
        res.end('boom');
        return;
      }
      const id = randomUUID();
      return json(res, 202, { id, status: 'PENDING_PAYMENT' }, { Location: `/api/orders/${id}` });
    }
    if (req.method === 'GET' && order)
      return json(res, 200, { id: order[1], status: 'CONFIRMED', history: [] });
    return problem(res, 404, 'Not Found');
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => problem(res, 500, 'Contract server failed'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
