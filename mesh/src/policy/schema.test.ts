import { describe, expect, it } from 'vitest';
import { edge, policyEdges } from './edges.ts';
import { loadPolicy, PolicyError, parsePolicy } from './schema.ts';

// Rendering the policy (NetworkPolicies, Istio) is tested in tools/render/test/policy.
const policy = loadPolicy();

describe('policy.yaml schema', () => {
  const minimal = `version: 1
namespace: ns
workloads:
  a: { kind: service, port: 8080 }
  b: { kind: service, port: 8080 }
calls:
  a: [b]
`;

  it('loads the checked-in policy', () => {
    expect(policyEdges(policy)).toContain(edge('orders', 'catalog'));
  });

  it('refuses unknown keys and names the field', () => {
    expect(() => parsePolicy(`${minimal}extra: 1\n`)).toThrow(/\(root\): .*\(extra\)/);
  });

  it('refuses a call to an unknown workload, naming where', () => {
    const err = (() => {
      try {
        parsePolicy(minimal.replace('a: [b]', 'a: [b, c]'));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).issues).toEqual(['calls.a.1: unknown workload "c"']);
  });

  it('refuses an edge policy for an edge that is not in calls', () => {
    const doc = `${minimal}edgePolicies:\n  b:\n    a: { timeoutMs: 100 }\n`;
    expect(() => parsePolicy(doc)).toThrow(/edgePolicies\.b\.a: no such edge in calls: b -> a/);
  });
});
