/**
 * OpenAPI fuzzing: schemathesis against each service's /openapi.json (the
 * documents of @breakwater/contracts), every check, bounded examples, a fixed
 * seed. The shop runs for real (its own PostgreSQL and Redis, real HTTP from
 * orders to catalog) on loopback ports. Zero failures means: no 5xx, every
 * response matches its documented schema, status and headers, no schema-valid
 * request is refused (the documents state every rule the code enforces), no
 * schema-invalid one is accepted, and a method a path does not serve is 405
 * with Allow. Reports: .run/schemathesis/<service>/ (README "Contracts").
 */

import { randomUUID } from 'node:crypto';
import { type PostgresHandle, type RedisHandle, startPostgres, startRedis } from '@breakwater/local/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FuzzResult, type KnownValues, runSchemathesis } from './support/schemathesis.ts';
import { Shop } from './support/shop.ts';

/** Test cases per operation and phase: enough to find the gaps above, small enough for ~10 s a service. */
const MAX_EXAMPLES = 25;
const SEED = 20_251_207;

let pg: PostgresHandle;
let redis: RedisHandle;
let shop: Shop;
/** Ids that exist, so the fuzzer reaches the 200s and their documented bodies (half the time; random otherwise). */
let known: Record<(typeof SERVICES)[number], KnownValues[]>;

const SERVICES = ['catalog', 'orders', 'payments', 'notifications'] as const;

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  shop = await Shop.start({ pg, redisUrl: redis.url });
  const products = (
    await shop.db.catalog.query<{ id: string }>('SELECT id FROM products ORDER BY id')
  ).rows.map((r) => r.id);
  const orders: string[] = [];
  for (let i = 0; i < 3; i++) {
    const placed = await shop.placeOrder(
      { customerId: 'fuzz', items: [{ productId: 'sku-0001', quantity: 1 }] },
      randomUUID(),
    );
    if (placed.status !== 202)
      throw new Error(`placing a seed order: ${placed.status} ${JSON.stringify(placed.body)}`);
    orders.push(String(placed.body.id));
  }
  known = {
    catalog: [
      { parameter: 'path.id', values: products, probability: 0.5 },
      { parameter: 'query.cursor', values: products, probability: 0.5 },
    ],
    orders: [{ parameter: 'path.id', values: orders, probability: 0.5 }],
    payments: [{ parameter: 'path.orderId', values: orders, probability: 0.5 }],
    notifications: [],
  };
});
afterAll(async () => {
  await shop?.stop();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

/** The FAILURES section of schemathesis' output (what broke, how to reproduce). */
const findings = (r: FuzzResult) => r.output.slice(Math.max(0, r.output.indexOf('= FAILURES =') - 40));

describe('OpenAPI fuzzing (schemathesis, all checks)', () => {
  for (const service of SERVICES) {
    it(`${service}: zero failures`, { timeout: 90_000 }, async () => {
      const url = service === 'payments' ? shop.payments?.url : shop[service].url;
      if (!url) throw new Error(`${service} is not running`);
      const r = await runSchemathesis({
        name: service,
        url,
        maxExamples: MAX_EXAMPLES,
        seed: SEED,
        known: known[service],
        timeoutMs: 80_000,
      });
      console.log(
        `schemathesis ${service}: ${r.operations} operations, ${r.examples} examples, ${r.failures} failures, ${r.errors} errors (report: ${r.reportDir})`,
      );
      expect(r.operations, 'every documented operation is tested').toBe(r.selected);
      expect(r.operations).toBeGreaterThanOrEqual(3);
      expect(r.examples).toBeGreaterThan(r.operations);
      expect({ failures: r.failures, errors: r.errors, exitCode: r.exitCode }, findings(r)).toEqual({
        failures: 0,
        errors: 0,
        exitCode: 0,
      });
    });
  }
});
