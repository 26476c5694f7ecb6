import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig as loadGatewayConfig } from '@breakwater/gateway/config';
import { parsePolicy as parseUpstreamPolicy } from '@breakwater/mesh/policy';
import { loadPolicy } from '@breakwater/mesh/policy/schema';
import { describe, expect, it } from 'vitest';
import {
  type CodeScan,
  scanSource,
  scanWorkload,
  sourceFiles,
  stripComments,
} from '../../src/policy/code-edges.ts';
import { REPO_ROOT } from '../../src/root.ts';

const policy = loadPolicy();
const sorted = (scan: CodeScan) => [...scan.callees.keys()].sort();
const fresh = (): CodeScan => ({ callees: new Map(), unmapped: [] });

/** Where each Node workload's code lives, and the config file holding its upstreams. */
const WORKLOADS = [
  { name: 'gateway', src: 'gateway/src', main: 'gateway/src/main.ts', config: 'gateway/gateway.yaml' },
  ...readdirSync(resolve(REPO_ROOT, 'services'), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map(({ name }) => ({
      name,
      src: `services/${name}/src`,
      main: `services/${name}/src/main.ts`,
      config: undefined,
    })),
];

describe('code edge scanner', () => {
  it('finds <NAME>_URL env, createUpstream and upstream() names, and maps DATABASE_URL to the own database', () => {
    const scan = fresh();
    const src = [
      'const env = z.object({ CATALOG_URL: url, REDIS_URL: url, DATABASE_URL: url });',
      "createUpstream({ baseUrl, name: 'payments', policy });",
      "mesh.upstream('frontend', {});",
    ].join('\n');
    scanSource(policy, 'orders', src, 'x.ts', scan);
    expect(sorted(scan)).toEqual(['catalog', 'frontend', 'payments', 'pg-orders', 'redis']);
    expect(scan.callees.get('payments')).toEqual(['x.ts:2']);
  });

  it('ignores comments but not strings', () => {
    const scan = fresh();
    scanSource(
      policy,
      'orders',
      "// CATALOG_URL\n/* PAYMENTS_URL */ const s = '// not a comment REDIS_URL';",
      'x.ts',
      scan,
    );
    expect(sorted(scan)).toEqual(['redis']);
    expect(stripComments('a /* b\nc */ d').split('\n')).toHaveLength(2);
  });

  it("does not count a workload's own admin endpoint", () => {
    const scan = fresh();
    scanSource(policy, 'gateway', 'env.GATEWAY_ADMIN_URL; env.ORDERS_ADMIN_URL', 'z.ts', scan);
    expect(sorted(scan)).toEqual([]);
    expect(scan.unmapped).toEqual(['z.ts:1: ORDERS_ADMIN_URL']);
  });

  it('reports names it cannot map instead of dropping them', () => {
    const scan = fresh();
    scanSource(policy, 'orders', "process.env.SEARCH_URL; createUpstream({ name: 'search' })", 'y.ts', scan);
    expect(scan.unmapped).toEqual(['y.ts:1: SEARCH_URL', 'y.ts:1: upstream "search"']);
  });

  it('skips tests', () => {
    const files = sourceFiles(resolve(REPO_ROOT, 'tools/render'));
    expect(files.some((f) => f.endsWith('code-edges.ts'))).toBe(true);
    expect(files.some((f) => f.endsWith('.test.ts'))).toBe(false);
  });
});

describe('policy.yaml matches the upstreams the code configures', () => {
  it('covers every Node workload that has code', () => {
    const withCode = WORKLOADS.filter((w) => existsSync(resolve(REPO_ROOT, w.main))).map((w) => w.name);
    const inPolicy = Object.keys(policy.workloads);
    expect(withCode.filter((w) => !inPolicy.includes(w))).toEqual([]);
  });

  it.each(
    WORKLOADS,
  )('$name: no edge the code uses is missing, none allowed that the code does not use', (w) => {
    expect(existsSync(resolve(REPO_ROOT, w.main)), `${w.main} exists`).toBe(true);
    const upstreams = w.config
      ? Object.keys(loadGatewayConfig(resolve(REPO_ROOT, w.config)).config.upstreams)
      : [];
    const scan = scanWorkload(policy, w.name, resolve(REPO_ROOT, w.src), REPO_ROOT, upstreams, w.config);
    expect(scan.unmapped).toEqual([]);
    expect(sorted(scan)).toEqual([...(policy.calls[w.name] ?? [])].sort());
  });

  it("edgePolicies equal the policies the calling service's package entry exports (UPSTREAM_POLICIES)", async () => {
    const checked: string[] = [];
    for (const [caller, ups] of Object.entries(policy.edgePolicies)) {
      const mod = (await import(`@breakwater/${caller}`)) as { UPSTREAM_POLICIES?: Record<string, unknown> };
      for (const [up, p] of Object.entries(ups)) {
        const found = mod.UPSTREAM_POLICIES?.[up];
        expect(found, `@breakwater/${caller} exports no UPSTREAM_POLICIES.${up}`).toBeDefined();
        expect(p, `${caller} -> ${up}`).toEqual(parseUpstreamPolicy(found, up));
        checked.push(`${caller} -> ${up}`);
      }
    }
    expect(checked).toContain('orders -> catalog');
  });
});
