import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderK8sFiles } from '../../src/k8s/files.ts';
import { renderMeshFiles } from '../../src/policy/sources.ts';
import { RENDERERS } from '../../src/renderers.ts';
import { staleOf } from '../../src/run.ts';
import { ROOT } from './manifests.ts';

const onDisk = (rel: string) => {
  try {
    return readFileSync(resolve(ROOT, rel), 'utf8');
  } catch {
    return '(missing)';
  }
};
const staleFiles = (files: Record<string, string>) => staleOf(ROOT, files);

describe('rendered files are up to date (run `npm run render` when this fails)', () => {
  it.each(RENDERERS.map((r) => [r.name, r] as const))('%s', (_name, r) => {
    const out = r.render(ROOT);
    expect(Object.keys(out.files).length).toBeGreaterThan(0);
    expect(staleOf(ROOT, out.files, out.remove)).toEqual([]);
  });
});

describe('the staleness check notices an edit', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'bw-render-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const copy = (rel: string) => {
    mkdirSync(resolve(tmp, rel, '..'), { recursive: true });
    cpSync(resolve(ROOT, rel), resolve(tmp, rel), { recursive: true });
  };
  for (const rel of [
    'mesh/policy.yaml',
    'gateway/gateway.yaml',
    'gateway/dev-keys',
    'gateway/rendered',
    'observability',
    'k6',
  ])
    copy(rel);
  const edit = (rel: string, from: string | RegExp, to: string) => {
    const text = readFileSync(resolve(tmp, rel), 'utf8');
    const next = text.replace(from, to);
    expect(next).not.toBe(text);
    writeFileSync(resolve(tmp, rel), next);
  };

  it('an edge removed from policy.yaml but not re-rendered', () => {
    edit('mesh/policy.yaml', /( {2}orders:\n) {4}- catalog:\n(?: {8}.*\n)+/, '$1'); // orders -> catalog and its rules
    edit('mesh/policy.yaml', /edgePolicies:[\s\S]*$/, 'edgePolicies: {}\n');
    const files = renderMeshFiles(tmp);
    expect(files['k8s/components/network-policies/network-policies.yaml']).not.toBe(
      onDisk('k8s/components/network-policies/network-policies.yaml'),
    );
    expect(staleFiles(files)).toContain('k8s/components/istio/authorization-policies.yaml');
  });

  it('a gateway.yaml upstream policy changed but not re-rendered', () => {
    edit('gateway/gateway.yaml', /timeoutMs: 500/, 'timeoutMs: 450');
    expect(staleFiles(renderMeshFiles(tmp))).toContain('k8s/components/istio/virtual-services.yaml');
    expect(staleFiles(renderK8sFiles(tmp))).toContain('k8s/components/envoy-gateway/envoy-gateway.yaml');
  });

  it('a gateway.yaml rate limit changed but not re-rendered', () => {
    edit(
      'gateway/gateway.yaml',
      /limits: \{ second: 50, minute: 1000 \}/,
      'limits: { second: 40, minute: 1000 }',
    );
    const stale = staleFiles(renderK8sFiles(tmp));
    expect(stale).toContain('k8s/components/envoy-gateway/envoy-gateway.yaml');
    expect(stale).not.toContain('k8s/base/catalog.yaml');
  });
});
