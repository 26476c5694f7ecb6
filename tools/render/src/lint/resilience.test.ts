import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { UPSTREAM_POLICIES } from '@breakwater/orders';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { REPO_ROOT } from '../root.ts';
import { analyse, type ResilienceReport } from './resilience-model.ts';
import {
  durationMs,
  ISTIO_DIR,
  loadResilienceInput,
  type ResilienceOverrides,
  sidecarLayers,
} from './resilience-sources.ts';

const gatewayYaml = readFileSync(resolve(REPO_ROOT, 'gateway/gateway.yaml'), 'utf8');
const vsYaml = readFileSync(resolve(REPO_ROOT, ISTIO_DIR, 'virtual-services.yaml'), 'utf8');
const lint = async (o: ResilienceOverrides = {}): Promise<ResilienceReport> =>
  analyse(await loadResilienceInput(REPO_ROOT, o));
const row = (r: ResilienceReport, path: string, layer: string) =>
  r.rows.find((x) => x.route === 'orders' && x.path.join(' → ') === path && x.layer.kind === layer);

/** The rendered VirtualServices with `retries` set on one caller's route to one host. */
function withSidecarRetries(host: string, caller: string, retries: object): string {
  return parseAllDocuments(vsYaml)
    .map((d) => {
      const vs = d.toJS();
      if (vs?.metadata?.name === host)
        for (const h of vs.spec.http) if (h.name === caller) h.retries = retries;
      return stringify(vs);
    })
    .join('---\n');
}

describe('resilience lint', () => {
  it('passes on the checked-in configuration and states attempts uncapped and capped by the budgets', async () => {
    const r = await lint();
    expect(r.violations).toEqual([]);
    const deepest = row(r, 'gateway → orders → catalog', 'mesh client');
    // gateway → orders: 1 retry, orders → catalog: 2 retries; budgets of 20 % at both
    expect(deepest).toMatchObject({ tries: 3, attempts: 6, spanMs: 1_575, worstMs: 1_575 });
    expect(deepest?.cappedAttempts).toBeCloseTo(1.44);
    expect(deepest?.parent?.timeoutMs).toBe(2_000);
    // every route and the deepest callee are walked, each through both layers
    expect(new Set(r.rows.map((x) => x.route))).toEqual(
      new Set(['catalog', 'orders', 'payments', 'frontend']),
    );
    expect(r.rows.filter((x) => x.layer.kind === 'Istio sidecar').every((x) => x.tries === 1)).toBe(true);
  });

  it('fails a second retry layer without a budget (sidecar retries under the mesh client) and names the path', async () => {
    const r = await lint({
      virtualServicesYaml: withSidecarRetries('catalog', 'orders', {
        attempts: 2,
        perTryTimeout: '0.5s',
        retryOn: 'connect-failure,reset,gateway-error',
      }),
    });
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]).toMatchObject({
      rule: 'layers',
      where: 'route orders: gateway → orders → catalog',
    });
    expect(r.violations[0]?.message).toMatch(
      /multiply to 18 tries at catalog; without a retry budget at Istio sidecar/,
    );
    expect(row(r, 'gateway → orders → catalog', 'Istio sidecar')?.attempts).toBe(18);
  });

  it("fails a child whose tries outlast the parent's per-try timeout, printing the numbers", async () => {
    const longer = { ...UPSTREAM_POLICIES.catalog, timeoutMs: 800, deadlineMs: 2_500 };
    const r = await lint({ servicePolicies: { orders: { catalog: longer } } });
    const time = r.violations.filter((v) => v.rule === 'time');
    expect(time).toHaveLength(1);
    expect(time[0]?.where).toBe('route orders: gateway → orders → catalog');
    expect(time[0]?.message).toContain(
      '3 × 800 ms + 75 ms backoff = 2475 ms, deadline 2500 ms → up to 2475 ms',
    );
    expect(time[0]?.message).toContain('per-try timeout 2000 ms');
    // the code and mesh/policy.yaml now disagree: that is reported too
    expect(r.violations.filter((v) => v.rule === 'sources').map((v) => v.where)).toEqual([
      'mesh/policy.yaml',
    ]);
  });

  it('fails a route that retries a POST reaching an operation without a required Idempotency-Key', async () => {
    const text = gatewayYaml.replace(
      'methods: [GET, HEAD]\n    upstream: catalog',
      'methods: [GET, HEAD, POST]\n    upstream: catalog',
    );
    expect(text).not.toBe(gatewayYaml);
    const r = await lint({ gatewayYaml: text });
    expect(r.violations.map((v) => [v.rule, v.where])).toEqual([
      ['idempotency', 'route catalog: gateway → catalog'],
    ]);
    expect(r.violations[0]?.message).toMatch(/POST reaches catalog POST \/reservations/);
    // orders' POST /orders requires the key: the same retries there are fine (first test)
  });

  it("reads a sidecar route without `retries` as Istio's default of 2 retries, and without a budget", () => {
    const text = stringify({
      kind: 'VirtualService',
      metadata: { name: 'catalog' },
      spec: {
        hosts: ['catalog.breakwater.svc.cluster.local'],
        http: [
          {
            name: 'orders',
            match: [{ sourceLabels: { 'app.kubernetes.io/name': 'orders' } }],
            timeout: '1.5s',
          },
        ],
      },
    });
    const layer = sidecarLayers(text, 'x').get('orders→catalog');
    expect(layer).toMatchObject({ maxRetries: 2, timeoutMs: 1_500, deadlineMs: 1_500, budget: undefined });
    expect(layer?.backoffMaxMs).toEqual([25, 50]);
    expect(durationMs('800ms', 'x')).toBe(800);
    expect(() => durationMs('soon', 'here')).toThrow(/here: not a duration: "soon"/);
  });

  it('`npm run lint -- resilience` prints the table and exits 0; --quiet prints one line', async () => {
    const run = promisify(execFile);
    const cli = resolve(REPO_ROOT, 'tools/render/src/lint/resilience-cli.ts');
    const full = await run(process.execPath, [cli]);
    expect(full.stdout).toMatch(/^route +path +layer/);
    expect(full.stdout).toContain('resilience lint: no violations');
    const quiet = await run(process.execPath, [cli, '--quiet']);
    expect(quiet.stdout.trim().split('\n')).toHaveLength(1);
    await expect(run(process.execPath, [cli, '--bogus'])).rejects.toMatchObject({ code: 2 });
  });
});
