/**
 * Everything the mesh render reads: mesh/policy.yaml and, for a workload
 * with `upstreamPolicies` (the gateway), that file read with its owner's
 * config loader, so gateway.yaml is validated exactly as the gateway
 * validates it. Imported by the render script and tests only: the mesh
 * library itself does not depend on the gateway.
 */
import { resolve } from 'node:path';
import { loadConfig as loadGatewayConfig } from '@breakwater/gateway/config';
import { loadPolicy, type MeshPolicy } from '@breakwater/mesh/policy/schema';
import { REPO_ROOT } from '../root.ts';
import { renderPolicyFiles } from './files.ts';
import { type EdgePolicies, resolveEdgePolicies } from './istio.ts';

export interface PolicySources {
  policy: MeshPolicy;
  edges: EdgePolicies;
}

export function loadPolicySources(root = REPO_ROOT): PolicySources {
  const policy = loadPolicy(resolve(root, 'mesh/policy.yaml'));
  const edges = resolveEdgePolicies(policy, (file) => {
    if (!file.endsWith('gateway.yaml')) throw new Error(`upstreamPolicies: no loader for ${file}`);
    return loadGatewayConfig(resolve(root, file)).config.upstreams;
  });
  return { policy, edges };
}

/** repo-relative path → content of every file the mesh render writes. */
export function renderMeshFiles(root = REPO_ROOT): Record<string, string> {
  const { policy, edges } = loadPolicySources(root);
  return renderPolicyFiles(policy, edges);
}
