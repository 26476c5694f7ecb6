/**
 * Every generator in the repository, in the order `npm run render` runs
 * them. Each returns repo-relative path → content; the runner (run.ts)
 * compares or writes, so the write/--check loop exists once. This workspace
 * is the only code that reads another workspace's config (policy.yaml,
 * gateway.yaml, observability's rules and dashboards, k6 scripts), through
 * that workspace's package entry points.
 */
import { renderContractFiles } from './contracts.ts';
import { renderDashboardFiles } from './dashboards/files.ts';
import { renderGatewayFiles } from './gateway/render.ts';
import { renderK8sFiles } from './k8s/files.ts';
import { renderMeshFiles } from './policy/sources.ts';

export interface Rendered {
  /** repo-relative path → content. */
  files: Record<string, string>;
  /** repo-relative paths no code produces any more: removed when writing, stale under --check. */
  remove?: string[];
  /** Lines to print when writing (approximations a target cannot express). */
  notes?: string[];
}

export interface Renderer {
  name: string;
  /** What it reads → what it writes, for `--help` and the README. */
  what: string;
  render(root: string): Rendered;
}

export const RENDERERS: readonly Renderer[] = [
  {
    name: 'contracts',
    what: 'event schemas (contracts/src, events/src/envelope.ts) → contracts/envelope.schema.json',
    render: () => ({ files: renderContractFiles() }),
  },
  {
    name: 'policy',
    what: 'mesh/policy.yaml (+ gateway.yaml upstreams) → NetworkPolicies and Istio resources under k8s/components',
    render: (root) => ({ files: renderMeshFiles(root) }),
  },
  {
    name: 'gateway',
    what: 'gateway/gateway.yaml → gateway/rendered/kong.yml and envoy.yaml',
    render: (root) => renderGatewayFiles(root),
  },
  {
    name: 'dashboards',
    what: 'dashboards as code (tools/render/src/dashboards) → observability/grafana/{dashboards,provisioning}',
    render: (root) => renderDashboardFiles(root),
  },
  {
    // after gateway: the kong component carries a copy of gateway/rendered/kong.yml
    name: 'k8s',
    what: 'workloads (tools/render/src/k8s), policy.yaml, gateway.yaml, observability → k8s/base, k8s/components, compose.yaml',
    render: (root) => ({ files: renderK8sFiles(root) }),
  },
];
