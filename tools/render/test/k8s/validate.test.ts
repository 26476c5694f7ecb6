import { describe, expect, it } from 'vitest';
import { hardeningProblems, isClearlyFake, isPinned, probeProblems } from './checks.ts';
import { build, type Manifest, validateManifest } from './manifests.ts';

describe('validateManifest', () => {
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'x' },
    spec: {
      selector: { matchLabels: { a: 'b' } },
      template: { spec: { containers: [{ name: 'x', image: 'x:1' }] } },
    },
  };

  it('accepts a valid Deployment', async () => {
    expect(await validateManifest(deployment)).toEqual([]);
  });

  it('rejects a wrongly typed field', async () => {
    const problems = await validateManifest({ ...deployment, spec: { ...deployment.spec, replicas: 'two' } });
    expect(problems.join()).toMatch(/spec\/replicas/);
  });

  it('rejects a missing required field', async () => {
    const problems = await validateManifest({ ...deployment, spec: { selector: deployment.spec.selector } });
    expect(problems.join()).toMatch(/template/);
  });

  it('rejects a CRD enum it does not know (Istio AuthorizationPolicy action)', async () => {
    const ap = {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: { name: 'x' },
      spec: { action: 'PERMIT' },
    };
    expect((await validateManifest(ap)).join()).toMatch(/action/);
  });

  it('refuses an apiVersion it has no schema for instead of passing it', async () => {
    const tr = { apiVersion: 'k6.io/v1alpha1', kind: 'TestRun', metadata: { name: 'x' } };
    expect((await validateManifest(tr)).join()).toMatch(/no schema package/);
  });
});

describe('manifest policy checks', () => {
  it('flags a Deployment whose container lost its readiness probe', () => {
    const objs = structuredClone(build('k8s/overlays/plain')) as Manifest[];
    expect(probeProblems(objs)).toEqual([]);
    const catalog = objs.find((o) => o.kind === 'Deployment' && o.metadata.name === 'catalog');
    delete catalog?.spec.template.spec.containers[0].readinessProbe;
    expect(probeProblems(objs)).toEqual(['Deployment/catalog/catalog: readinessProbe']);
  });

  it('flags a container that may escalate or keeps capabilities', () => {
    expect(hardeningProblems({}, { securityContext: { readOnlyRootFilesystem: true } })).toEqual([
      'runAsNonRoot is not true',
      'allowPrivilegeEscalation is not false',
      'capabilities.drop lacks ALL',
    ]);
  });

  it('accepts pinned tags and digests only', () => {
    expect(isPinned('redis:7.4.2-bookworm')).toBe(true);
    expect(isPinned(`kong@sha256:${'a'.repeat(64)}`)).toBe(true);
    expect(isPinned('redis')).toBe(false);
    expect(isPinned('redis:latest')).toBe(false);
    expect(isPinned('localhost:5000/redis')).toBe(false);
  });

  it('calls a value fake only when it says so and has no real credential shape', () => {
    expect(isClearlyFake('not-a-secret-pg-orders-local-only')).toBe(true);
    expect(isClearlyFake('hunter2-prod')).toBe(false);
    expect(isClearlyFake('not-a-secret AKIAABCDEFGHIJKLMNOP')).toBe(false);
  });
});
