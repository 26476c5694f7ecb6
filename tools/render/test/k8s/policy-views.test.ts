import { policyEdges, policyOperations } from '@breakwater/mesh/policy/edges';
import { loadPolicy } from '@breakwater/mesh/policy/schema';
import { describe, expect, it } from 'vitest';
import {
  authorizationPolicyEdges,
  authorizationPolicyOperations,
  networkPolicyEdges,
} from '../../src/policy/views.ts';
import { build, type Manifest, overlayNames } from './manifests.ts';

const policy = loadPolicy();
const internal = (edges: string[]) => edges.filter((e) => !e.startsWith('ext:'));

/** Components whose callers' rules an overlay carries, read from the built objects. */
function componentsIn(objs: Manifest[]): string[] {
  return Object.values(policy.external)
    .map((e) => e.component)
    .filter((c): c is string => c !== undefined)
    .filter((c) =>
      objs.some((o) => o.kind === 'NetworkPolicy' && String(o.metadata.name).endsWith(`-from-${c}`)),
    );
}

describe.each(overlayNames())('overlay %s: what the cluster enforces is mesh/policy.yaml', (overlay) => {
  const objs = () =>
    build(`k8s/overlays/${overlay}`).filter((o) => o.metadata?.namespace === policy.namespace);

  it('NetworkPolicies allow exactly the policy edges, on both ends', () => {
    const { ingress, egress } = networkPolicyEdges(policy, objs());
    const expected = [
      ...policyEdges(policy, { external: true }),
      ...componentsIn(objs()).flatMap((c) => policyEdges(policy, { component: c })),
    ].sort();
    expect(ingress).toEqual([...new Set(expected)].sort());
    expect(egress).toEqual(internal(policyEdges(policy)));
  });

  it('AuthorizationPolicies (when present) allow exactly the policy edges by principal', () => {
    const aps = objs().filter((o) => o.kind === 'AuthorizationPolicy');
    if (aps.length === 0) {
      expect(overlay).not.toMatch(/istio|kong|chaos/);
      return;
    }
    expect(authorizationPolicyEdges(policy, aps)).toEqual(policyEdges(policy, { external: true }));
    // and per edge exactly the methods and paths its rules allow (the server kit enforces the same lines)
    expect(authorizationPolicyOperations(policy, aps)).toEqual(policyOperations(policy, { external: true }));
  });

  it('each workload is configured with exactly the upstreams its edges allow', () => {
    const configMaps = new Map(
      objs()
        .filter((o) => o.kind === 'ConfigMap')
        .map((o) => [o.metadata.name as string, o.data ?? {}]),
    );
    const secrets = new Map(
      objs()
        .filter((o) => o.kind === 'Secret')
        .map((o) => [o.metadata.name as string, Object.keys(o.data ?? {})]),
    );
    for (const d of objs().filter((o) => o.kind === 'Deployment')) {
      const name = d.metadata.name as string;
      const c = d.spec.template.spec.containers[0];
      const keys = (c.envFrom ?? []).flatMap((e: Manifest) =>
        e.configMapRef
          ? Object.keys(configMaps.get(e.configMapRef.name) ?? {})
          : (secrets.get(e.secretRef?.name) ?? []),
      );
      if (keys.length === 0) continue; // a replaced container (Kong) reads its own config
      const targets = keys
        .filter((k: string) => k.endsWith('_URL'))
        .map((k: string) =>
          k === 'DATABASE_URL' ? `pg-${name}` : k.slice(0, -'_URL'.length).toLowerCase().replaceAll('_', '-'),
        )
        .sort();
      expect(targets, name).toEqual([...(policy.calls[name] ?? [])].sort());
    }
  });
});
