/**
 * The same OpenAPI fuzzing through the gateway, as a consumer: the public
 * operations of each document (its `servers` are the gateway's prefixes)
 * with the dev consumer alice's API key, against a real gateway process
 * (`node gateway/src/main.ts`, gateway.yaml with every rate limit raised so
 * the run tests the routes, not the limiter) in front of the real shop.
 * Reports: .run/schemathesis/gateway-<service>/.
 */
import { fileURLToPath } from 'node:url';
import { type PostgresHandle, type RedisHandle, startPostgres, startRedis } from '@breakwater/local/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Document } from 'yaml';
import { ALICE, type RunningGateway, startGateway } from './support/gateway.ts';
import { runSchemathesis } from './support/schemathesis.ts';
import { Shop } from './support/shop.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

let pg: PostgresHandle;
let redis: RedisHandle;
let shop: Shop;
let gateway: RunningGateway | undefined;
let gatewayUrl: string;

/** Every rate limit far above what the run sends. */
function unlimited(doc: Document): void {
  const limits = (doc.toJS() as { rateLimits?: unknown[] }).rateLimits ?? [];
  limits.forEach((_, i) => {
    doc.setIn(['rateLimits', i, 'limits'], { second: 100_000, minute: 1_000_000 });
  });
}

beforeAll(async () => {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  shop = await Shop.start({ pg, redisUrl: redis.url });
  gateway = await startGateway({ shop, redisUrl: redis.url, edit: unlimited, name: 'fuzz' });
  gatewayUrl = gateway.url;
});
afterAll(async () => {
  await gateway?.stop();
  await shop?.stop();
  await Promise.all([pg?.stop(), redis?.stop()]);
});

describe('OpenAPI fuzzing through the gateway (alice, all checks)', () => {
  const publicOperations = [
    ['catalog', '/api/catalog', '^/products'],
    ['orders', '/api', '^/orders'],
    ['payments', '/api', '^/payments'],
  ] as const;
  for (const [service, prefix, paths] of publicOperations) {
    it(`${service}: zero failures`, { timeout: 90_000 }, async () => {
      const r = await runSchemathesis({
        name: `gateway-${service}`,
        url: `${gatewayUrl}${prefix}`,
        document: `${ROOT}contracts/openapi/${service}.json`,
        includePathRegex: paths,
        headers: ALICE,
        maxExamples: 15,
        seed: 20_251_207,
        timeoutMs: 80_000,
      });
      console.log(
        `schemathesis via gateway ${service}: ${r.operations} operations, ${r.examples} examples, ${r.failures} failures, ${r.errors} errors (report: ${r.reportDir})`,
      );
      expect(r.operations).toBe(r.selected);
      expect(r.operations).toBeGreaterThanOrEqual(1);
      expect({ failures: r.failures, errors: r.errors, exitCode: r.exitCode }, r.output).toEqual({
        failures: 0,
        errors: 0,
        exitCode: 0,
      });
    });
  }
});
