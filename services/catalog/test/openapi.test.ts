/**
 * Every service's OpenAPI document against its express routes: a route the
 * document does not describe, or a documented operation with no route,
 * fails. Apps are built with unconnected clients (nothing is called).
 */
import catalogDoc from '@breakwater/contracts/openapi/catalog.json' with { type: 'json' };
import notificationsDoc from '@breakwater/contracts/openapi/notifications.json' with { type: 'json' };
import ordersDoc from '@breakwater/contracts/openapi/orders.json' with { type: 'json' };
import paymentsDoc from '@breakwater/contracts/openapi/payments.json' with { type: 'json' };
import { createPgPool } from '@breakwater/events/postgres';
import { buildApp as notificationsApp, loadConfig as notificationsConfig } from '@breakwater/notifications';
import { buildApp as ordersApp, loadConfig as ordersConfig } from '@breakwater/orders';
import { buildApp as paymentsApp, loadConfig as paymentsConfig } from '@breakwater/payments';
import type express from 'express';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { buildApp as catalogApp } from '../src/app.ts';
import { loadConfig as catalogConfig } from '../src/config.ts';

interface Layer {
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** `METHOD /path/{param}` for every route in the app, nested routers included. */
export function routesOf(app: express.Express): string[] {
  const out = new Set<string>();
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
        for (const p of paths) {
          for (const [m, on] of Object.entries(layer.route.methods)) {
            if (on && m !== '_all') out.add(`${m.toUpperCase()} ${p.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`);
          }
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return [...out].sort();
}

/** Each service's contract, from @breakwater/contracts. */
const DOCS = {
  catalog: catalogDoc,
  orders: ordersDoc,
  payments: paymentsDoc,
  notifications: notificationsDoc,
} as const;

function documented(service: keyof typeof DOCS): string[] {
  const doc: { openapi: string; paths: unknown } = DOCS[service];
  expect(doc.openapi).toMatch(/^3\.1\./);
  const out: string[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
    for (const m of Object.keys(item)) {
      if (['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(m))
        out.push(`${m.toUpperCase()} ${path}`);
    }
  }
  return out.sort();
}

const env = {
  DATABASE_URL: 'postgres://nobody:x@127.0.0.1:1/none',
  REDIS_URL: 'redis://127.0.0.1:1',
  CATALOG_URL: 'http://127.0.0.1:1',
};
const quiet = { signals: [] as [], drainDelayMs: 0, accessLog: false };
const deps = () => ({
  pool: createPgPool(env.DATABASE_URL),
  redis: new Redis(env.REDIS_URL, { lazyConnect: true }),
  server: quiet,
});

describe('OpenAPI documents match the routes', () => {
  const cases: [keyof typeof DOCS, () => express.Express][] = [
    ['catalog', () => catalogApp(catalogConfig(env), deps()).app],
    ['orders', () => ordersApp(ordersConfig(env), deps()).app],
    ['payments', () => paymentsApp(paymentsConfig(env), deps()).app],
    ['notifications', () => notificationsApp(notificationsConfig(env), deps()).app],
  ];
  for (const [service, build] of cases) {
    it(`${service}: every route is documented and every documented operation has a route`, () => {
      const routes = routesOf(build());
      expect(routes.length).toBeGreaterThan(3);
      expect(routes).toEqual(documented(service));
    });
  }

  it('the route lister sees a route added outside the document (so the check can fail)', () => {
    const kit = catalogApp(catalogConfig(env), deps());
    kit.router.get('/undocumented/:x', (_req, res) => {
      res.end();
    });
    expect(routesOf(kit.app)).toContain('GET /undocumented/{x}');
    expect(routesOf(kit.app)).not.toEqual(documented('catalog'));
  });
});
