/**
 * Every overlay applied to a real kube-apiserver v1.34 with the real CRDs
 * (tools/render/src/k8s-check/api-server-check.ts): what the schema tests cannot see — CEL
 * rules in CRDs, defaulting, admission, namespaces and ordering — and, with
 * kube-controller-manager, what a rollout creates. One control plane for the
 * whole file (20–40 s to start with the CRDs); the schema tests in
 * overlays.test.ts stay the fast first check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiServerCheck, type OverlayResult, refusals } from '../../src/k8s-check/api-server-check.ts';
import { overlayNames } from './manifests.ts';

const overlays = overlayNames();
let check: ApiServerCheck;

beforeAll(async () => {
  check = await ApiServerCheck.start();
}, 240_000);

afterAll(async () => {
  await check?.stop();
});

describe('overlays on a real kube-apiserver', () => {
  it('serves the CRDs of every project the overlays use', () => {
    const projects = [
      'istio.io/api@',
      'sigs.k8s.io/gateway-api@',
      'envoyproxy/gateway@',
      'prometheus-operator@',
    ];
    for (const p of projects)
      expect(
        check.crds.some((c) => c.includes(p)),
        p,
      ).toBe(true);
  });

  describe.each(overlays)('overlay %s', (overlay) => {
    let result: OverlayResult;
    beforeAll(async () => {
      result = await check.checkOverlay(overlay);
    }, 180_000);

    it('creates its namespaces first', () => {
      expect(refusals(result, 'namespaces and CRDs')).toEqual([]);
    });

    it('passes the server dry run with every object', () => {
      expect(result.steps.find((s) => s.step === 'dry run')?.objects).toBeGreaterThan(10);
      expect(refusals(result, 'dry run')).toEqual([]);
    });

    it('is stored whole by a real apply', () => {
      expect(refusals(result, 'apply')).toEqual([]);
    });

    // kube-controller-manager runs (no nodes): Deployments, StatefulSets and
    // Jobs get Pods through Pod Security admission; the Pods are covered by
    // NetworkPolicies, PDBs select them, HPAs reach their scale subresource.
    it('rolls out into Pods that its policies select', () => {
      expect(result.pods).toBeGreaterThan(0);
      expect(refusals(result, 'rollout')).toEqual([]);
    });
  });
});
