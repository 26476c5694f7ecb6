/**
 * Replicas end to end: `up --replicas catalog=2` as a real child process with
 * Redis, PostgreSQL, two catalog instances and a gateway; traffic through the
 * gateway reaches both instances (their own request counters), a service name
 * addresses every instance, `scale catalog 1` drains one while requests
 * keep flowing without a failure, and `rollout catalog` replaces both
 * instances one at a time under load without a failed request.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutStaleIfError, writeGatewayVariant } from '../src/gateway-variant.ts';
import { runIdentityAgent } from '../src/harness.ts';
import { endpointsFile } from '../src/platform.ts';
import { parseReplicas } from '../src/replicas.ts';
import { resolvePlan } from '../src/rollout.ts';
import { cli, processOf, type Result, startUp, stopUp, type UpRun } from './fixtures/up-process.ts';

const API_KEY = 'dev-alice-key-0000-NOT-A-SECRET';

/** Requests the catalog's instance counted for GET /products (its own metrics). */
async function productRequests(url: string, runDir: string): Promise<number> {
  // Under mTLS (the default run), read them as Prometheus does, with its certificate.
  const agent = await runIdentityAgent(runDir);
  const text = await (await request(`${url}/metrics`, { dispatcher: agent })).body.text();
  await agent.close();
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('bw_http_server_request_duration_seconds_count{') &&
        l.includes('route="/products"') &&
        l.includes('method="GET"'),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

describe('parseReplicas', () => {
  it('reads service=count pairs and refuses anything else, naming the valid services', () => {
    expect(parseReplicas('catalog=3, orders=2')).toEqual({ catalog: 3, orders: 2 });
    for (const bad of [
      'redis=2',
      'catalog=0',
      'catalog=x',
      'catalog',
      'catalog=2,catalog=3',
      '',
      'pg-catalog=2',
    ]) {
      expect(() => parseReplicas(bad), bad).toThrow(
        /1-9 instances of catalog, orders, payments, notifications, frontend, gateway$/,
      );
    }
  });
});

describe('rollout plan (Kubernetes RollingUpdate fenceposts)', () => {
  it('rounds 25 % surge up and 25 % unavailable down, and never leaves both at 0', () => {
    expect(resolvePlan(3)).toEqual({ replicas: 3, maxSurge: 1, maxUnavailable: 0 });
    expect(resolvePlan(4)).toEqual({ replicas: 4, maxSurge: 1, maxUnavailable: 1 });
    expect(resolvePlan(9)).toEqual({ replicas: 9, maxSurge: 3, maxUnavailable: 2 });
    expect(resolvePlan(2, { maxSurge: 0, maxUnavailable: '0%' })).toEqual({
      replicas: 2,
      maxSurge: 0,
      maxUnavailable: 1,
    });
    expect(resolvePlan(3, { maxSurge: '100%', maxUnavailable: 2 })).toEqual({
      replicas: 3,
      maxSurge: 3,
      maxUnavailable: 2,
    });
  });

  it('refuses a value that is neither a count nor a percentage, naming the flag', () => {
    expect(() => resolvePlan(3, { maxSurge: 'lots' })).toThrow(
      '--max-surge must be a whole number or a percentage such as 25% (got "lots")',
    );
    expect(() => resolvePlan(3, { maxUnavailable: '150%' })).toThrow(
      '--max-unavailable must be at most 100% (got "150%")',
    );
  });
});

describe('up --replicas (end to end)', { timeout: 120_000 }, () => {
  let runDir: string;
  let common: string[];
  let run: UpRun | undefined;
  let gatewayUrl: string;

  beforeAll(async () => {
    runDir = mkdtempSync(path.join(os.tmpdir(), 'bw-replicas-'));
    common = ['--run-dir', runDir];
    // The real gateway config without rate limits (the test counts requests) and
    // without stale-if-error (a stale copy would hide a request that failed).
    const configFile = writeGatewayVariant(runDir, 'gateway-replicas', (doc) => {
      doc.delete('rateLimits');
      withoutStaleIfError(doc);
    });
    run = await startUp([
      ...common,
      '--replicas',
      'catalog=2',
      '--only',
      'redis,pg-catalog,catalog-1,catalog-2,gateway-1',
      '--gateway-port',
      '0',
      '--prometheus-port',
      '0',
      '--gateway-config',
      configFile,
    ]);
    gatewayUrl = processOf(runDir, 'gateway-1')?.url as string;
  });

  afterAll(async () => {
    await stopUp(run);
    rmSync(runDir, { recursive: true, force: true });
  });

  /** Runs `command` while product reads go through the gateway one after another; their statuses. */
  async function underLoad(command: () => Promise<Result>): Promise<{ res: Result; statuses: number[] }> {
    const statuses: number[] = [];
    let running = true;
    const load = (async () => {
      // Bounded: stops when the command returns, or after 4000 requests.
      for (let i = 0; i < 4000 && running; i++) {
        const r = await fetch(`${gatewayUrl}/api/catalog/products?limit=1`, { headers: { apikey: API_KEY } });
        statuses.push(r.status);
        await r.arrayBuffer();
      }
    })();
    const res = await command();
    running = false;
    await load;
    return { res, statuses };
  }

  it('refuses a bad --replicas with one line naming the valid services', async () => {
    const res = await cli(['up', ...common, '--replicas', 'redis=2']);
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toEqual([
      'bw-local: error: cannot replicate "redis": 1-9 instances of catalog, orders, payments, notifications, frontend, gateway',
    ]);
  });

  it('reads BW_REPLICAS as --replicas (the flag wins), refusing a bad one the same way', async () => {
    const res = await cli(['up', ...common], { BW_REPLICAS: 'catalog=0' });
    expect(res.code).toBe(1);
    expect(res.stderr.trim().split('\n')).toEqual([
      'bw-local: error: bad replica count "0" for catalog: 1-9 instances of catalog, orders, payments, notifications, frontend, gateway',
    ]);
    const flag = await cli(['up', ...common, '--replicas', 'redis=2'], { BW_REPLICAS: 'catalog=0' });
    expect(flag.stderr).toContain('cannot replicate "redis"');
  });

  it('shows each instance in status and lists both, ready, in the endpoints file', async () => {
    const res = await cli(['status', ...common]);
    expect(res.stdout).toMatch(/^catalog-1\s+running/m);
    expect(res.stdout).toMatch(/^catalog-2\s+running/m);
    const file = JSON.parse(readFileSync(endpointsFile(runDir, 'catalog'), 'utf8')) as {
      endpoints: { url: string; ready: boolean }[];
    };
    expect(file.endpoints).toHaveLength(2);
    expect(file.endpoints.every((e) => e.ready)).toBe(true);
  });

  it('spreads requests through the gateway over both instances', async () => {
    const urls = ['catalog-1', 'catalog-2'].map((n) => processOf(runDir, n)?.url as string);
    const before = await Promise.all(urls.map((u) => productRequests(u, runDir)));
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${gatewayUrl}/api/catalog/products?limit=1`, { headers: { apikey: API_KEY } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const after = await Promise.all(urls.map((u) => productRequests(u, runDir)));
    const served = after.map((n, i) => n - (before[i] ?? 0));
    expect((served[0] ?? 0) + (served[1] ?? 0)).toBeGreaterThanOrEqual(40);
    // least_request over two idle instances: each gets a fair share, not all.
    expect(Math.min(...served)).toBeGreaterThanOrEqual(5);
  });

  it('a service name addresses every instance', async () => {
    const paused = await cli(['pause', 'catalog', ...common]);
    expect(paused.stdout).toMatch(/^catalog-1\s+paused/m);
    expect(paused.stdout).toMatch(/^catalog-2\s+paused/m);
    const resumed = await cli(['resume', 'catalog', ...common]);
    expect(resumed.stdout.trim().split('\n')).toHaveLength(2);
    expect(resumed.stdout).not.toMatch(/paused/);
  });

  it('scale catalog 1 drains one instance while no request fails', async () => {
    const { res, statuses } = await underLoad(() => cli(['scale', 'catalog', '1', ...common]));
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('catalog: 1 instance (drained and removed catalog-2)');
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const status = await cli(['status', ...common]);
    expect(status.stdout).toMatch(/^catalog-1\s+running/m);
    expect(status.stdout).not.toMatch(/^catalog-2/m);
    const file = JSON.parse(readFileSync(endpointsFile(runDir, 'catalog'), 'utf8')) as {
      endpoints: unknown[];
    };
    expect(file.endpoints).toHaveLength(1);
  });

  it('scale catalog 2 starts a new instance on its own port that joins the rotation', async () => {
    const res = await cli(['scale', 'catalog', '2', ...common]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('catalog: 2 instances (started catalog-2)');
    const file = JSON.parse(readFileSync(endpointsFile(runDir, 'catalog'), 'utf8')) as {
      endpoints: { url: string; ready: boolean }[];
    };
    expect(file.endpoints.map((e) => e.ready)).toEqual([true, true]);
    const fresh = file.endpoints[1]?.url as string;
    expect(fresh).not.toBe(file.endpoints[0]?.url);
    const before = await productRequests(fresh, runDir);
    for (let i = 0; i < 30; i++) {
      const r = await fetch(`${gatewayUrl}/api/catalog/products?limit=1`, { headers: { apikey: API_KEY } });
      expect(r.status).toBe(200);
      await r.arrayBuffer();
    }
    expect((await productRequests(fresh, runDir)) - before).toBeGreaterThanOrEqual(3);
  });

  it('rollout catalog replaces both instances one at a time (maxSurge 1, maxUnavailable 0) and no request fails', async () => {
    const before = JSON.parse(readFileSync(endpointsFile(runDir, 'catalog'), 'utf8')) as {
      endpoints: { url: string }[];
    };
    const { res, statuses } = await underLoad(() => cli(['rollout', 'catalog', ...common]));
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('catalog: rolled out 2 instances (maxSurge 1, maxUnavailable 0)');
    // One new instance ready, then one old one drained, twice: the surge never exceeds one.
    expect(res.stdout).toMatch(
      /s {2}started catalog-3\n\s+[\d.]+ s {2}started catalog-4; drained catalog-1\n\s+[\d.]+ s {2}drained catalog-2/,
    );
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const after = JSON.parse(readFileSync(endpointsFile(runDir, 'catalog'), 'utf8')) as {
      endpoints: { url: string; ready: boolean }[];
    };
    expect(after.endpoints).toHaveLength(2);
    expect(after.endpoints.every((e) => e.ready)).toBe(true);
    expect(after.endpoints.some((e) => before.endpoints.some((b) => b.url === e.url))).toBe(false);
    const status = await cli(['status', ...common]);
    expect(status.stdout).toMatch(/^catalog-3\s+running/m);
    expect(status.stdout).toMatch(/^catalog-4\s+running/m);
    expect(status.stdout).not.toMatch(/^catalog-[12]\s/m);
  });

  it('rollout refuses a bad --max-surge in one line before calling the supervisor', async () => {
    const res = await cli(['rollout', 'catalog', '--max-surge', 'lots', ...common]);
    expect(res.code).toBe(1);
    expect(res.stderr.trim()).toBe(
      'bw-local: error: --max-surge must be a whole number or a percentage such as 25% (got "lots")',
    );
  });
});
