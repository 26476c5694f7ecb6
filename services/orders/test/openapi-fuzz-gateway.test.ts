/**
 * The same OpenAPI fuzzing through the gateway, as a consumer: the public
 * operations of each document (its `servers` are the gateway's prefixes)
 * with the dev consumer alice's API key, against a real gateway process
 * (`node gateway/src/main.ts`, gateway.yaml with every rate limit raised so
 * the run tests the routes, not the limiter) in front of the real shop.
 * Reports: .run/schemathesis/gateway-<service>/.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeGatewayVariant } from '@breakwater/local/gateway-variant';
import { type PostgresHandle, type RedisHandle, startPostgres, startRedis } from '@breakwater/local/harness';
import { ManagedProcess } from '@breakwater/local/managed-process';
import { freePorts } from '@breakwater/local/ports';
import { httpProbe } from '@breakwater/local/readiness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Document } from 'yaml';
import { runSchemathesis } from './support/schemathesis.ts';
import { Shop } from './support/shop.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ALICE = { apikey: 'dev-alice-key-0000-NOT-A-SECRET' };

let pg: PostgresHandle;
let redis: RedisHandle;
let shop: Shop;
let gateway: ManagedProcess | undefined;
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
  const [port, adminPort] = await freePorts(2);
  gatewayUrl = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(join(tmpdir(), 'bw-fuzz-gw-'));
  // Ready once a catalog read passes through it (auth, limit and forward all work).
  gateway = new ManagedProcess({
    name: 'gateway',
    kind: 'gateway',
    command: process.execPath,
    args: ['gateway/src/main.ts'],
    cwd: ROOT,
    port,
    logFile: join(dir, 'gateway.log'),
    ready: httpProbe(`${gatewayUrl}/api/catalog/products?limit=1`, ALICE),
    readyTimeoutMs: 20_000,
    inheritEnv: false,
    env: {
      PATH: process.env.PATH ?? '',
      GATEWAY_CONFIG: writeGatewayVariant(dir, 'fuzz', unlimited),
      HOST: '127.0.0.1',
      PORT: String(port),
      GATEWAY_ADMIN_PORT: String(adminPort),
      GATEWAY_ADMIN_TOKEN: 'fuzz-admin-token-0123456789',
      REDIS_URL: redis.url,
      CATALOG_URL: shop.catalog.url,
      ORDERS_URL: shop.orders.url,
      PAYMENTS_URL: shop.payments?.url ?? '',
      FRONTEND_URL: 'http://127.0.0.1:1',
      LOG_LEVEL: 'warn',
    },
  });
  await gateway.start();
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
