/**
 * The files `npm run render` writes from mesh/policy.yaml, as
 * repo-relative path → content, so the staleness test can compare a fresh
 * render with what is checked in.
 */
import { stringify as stringifyYaml } from 'yaml';

/**
 * YAML 1.1 output: Kubernetes (sigs.k8s.io/yaml) and older YAML readers take
 * an unquoted yes/no/on/off as a boolean, so such strings must be quoted.
 */
const stringify = (value: unknown, opts: { lineWidth?: number } = {}) =>
  stringifyYaml(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false, ...opts });

import type { MeshPolicy } from '@breakwater/mesh/policy/schema';
import {
  destinationRuleApproximations,
  type EdgePolicies,
  renderAuthorizationPolicies,
  renderDestinationRules,
  renderPeerAuthentications,
  renderVirtualServices,
} from './istio.ts';
import {
  renderComponentNetworkPolicies,
  renderIstioNetworkPolicies,
  renderNetworkPolicies,
} from './network-policies.ts';

const HEADER =
  '# Generated from mesh/policy.yaml by `npm run render` (tools/render/src/policy). Do not edit.\n';

/** The YAML documents, after the header and, when there are any, what the target cannot express. */
export function toYamlDocuments(objects: readonly object[], approximations: readonly string[] = []): string {
  const approx =
    approximations.length === 0
      ? ''
      : `#\n# Approximations (what this target cannot express exactly):\n${approximations.map((a) => `#  - ${a}\n`).join('')}`;
  return HEADER + approx + objects.map((o) => `---\n${stringify(o)}`).join('');
}

export function renderPolicyFiles(policy: MeshPolicy, edges: EdgePolicies): Record<string, string> {
  return {
    'k8s/components/network-policies/network-policies.yaml': toYamlDocuments(renderNetworkPolicies(policy)),
    'k8s/components/istio/network-policies.yaml': toYamlDocuments(renderIstioNetworkPolicies(policy)),
    'k8s/components/istio/peer-authentications.yaml': toYamlDocuments(renderPeerAuthentications(policy)),
    'k8s/components/istio/authorization-policies.yaml': toYamlDocuments(renderAuthorizationPolicies(policy)),
    'k8s/components/istio/destination-rules.yaml': toYamlDocuments(
      renderDestinationRules(policy, edges),
      destinationRuleApproximations(edges),
    ),
    'k8s/components/istio/virtual-services.yaml': toYamlDocuments(renderVirtualServices(policy, edges)),
    'k8s/components/envoy-gateway/network-policies.yaml': toYamlDocuments(
      renderComponentNetworkPolicies(policy, 'envoy-gateway'),
    ),
  };
}
