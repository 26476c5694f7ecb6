import { describe, expect, it } from 'vitest';
import {
  hardeningProblems,
  isClearlyFake,
  isPinned,
  probeProblems,
  secretValues,
  selects,
} from './checks.ts';
import { build, overlayNames, podOwners, validateManifest } from './manifests.ts';

const overlays = overlayNames();

describe('k8s overlays', () => {
  it('has the overlays the README documents', () => {
    expect(overlays.length).toBeGreaterThan(0);
  });

  describe.each(overlays)('overlay %s', (overlay) => {
    const objs = () => build(`k8s/overlays/${overlay}`);

    it('builds with kustomize', () => {
      expect(objs().length).toBeGreaterThan(10);
    });

    it('validates every object against the Kubernetes and CRD schemas', async () => {
      const problems = (await Promise.all(objs().map(validateManifest))).flat();
      expect(problems).toEqual([]);
    });

    it('has a default-deny NetworkPolicy and selects every pod with a NetworkPolicy', () => {
      const nps = objs().filter((o) => o.kind === 'NetworkPolicy');
      const deny = nps.find(
        (np) => Object.keys(np.spec?.podSelector ?? {}).length === 0 && np.metadata.name === 'default-deny',
      );
      expect(deny?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
      const unselected = podOwners(objs())
        .filter(
          (p) =>
            !nps.some(
              (np) =>
                np.metadata.namespace === p.obj.metadata.namespace &&
                selects(np.spec?.podSelector, p.podLabels),
            ),
        )
        .map((p) => p.id);
      expect(unselected).toEqual([]);
    });

    it('gives every long-running container startup, liveness and readiness probes', () => {
      expect(probeProblems(objs())).toEqual([]);
    });

    it('gives every container CPU and memory requests and limits', () => {
      const missing: string[] = [];
      for (const p of podOwners(objs()))
        for (const c of [...(p.pod.initContainers ?? []), ...(p.pod.containers ?? [])])
          for (const k of ['requests', 'limits'])
            for (const r of ['cpu', 'memory'])
              if (c.resources?.[k]?.[r] === undefined) missing.push(`${p.id}/${c.name}: resources.${k}.${r}`);
      expect(missing).toEqual([]);
    });

    it('hardens every container: non-root, read-only root, no privilege escalation, capabilities dropped', () => {
      const bad: string[] = [];
      for (const p of podOwners(objs()))
        for (const c of [...(p.pod.initContainers ?? []), ...(p.pod.containers ?? [])])
          bad.push(...hardeningProblems(p.pod, c).map((m) => `${p.id}/${c.name}: ${m}`));
      expect(bad).toEqual([]);
    });

    it('pins every image by tag or digest', () => {
      const bad: string[] = [];
      for (const p of podOwners(objs()))
        for (const c of [...(p.pod.initContainers ?? []), ...(p.pod.containers ?? [])])
          if (!isPinned(c.image)) bad.push(`${p.id}/${c.name}: ${c.image}`);
      expect(bad).toEqual([]);
    });

    it('keeps only clearly fake values in Secrets', () => {
      const bad: string[] = [];
      for (const s of objs().filter((o) => o.kind === 'Secret'))
        for (const [k, v] of Object.entries(secretValues(s)))
          if (!isClearlyFake(v)) bad.push(`Secret/${s.metadata.name}: ${k}`);
      expect(bad).toEqual([]);
    });
  });
});
