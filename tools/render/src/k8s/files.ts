/**
 * Every file `npm run render` writes under k8s/ (besides the mesh policy
 * resources, which tools/render/src/policy writes), as repo-relative path →
 * content, so a test can compare a fresh render with the checked-in files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { stringify as stringifyYaml } from 'yaml';

/**
 * YAML 1.1 output: Kubernetes (sigs.k8s.io/yaml) and older YAML readers take
 * an unquoted yes/no/on/off as a boolean, so such strings must be quoted.
 */
const stringify = (value: unknown, opts: { lineWidth?: number } = {}) =>
  stringifyYaml(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false, ...opts });

import { loadConfig as loadGatewayConfig } from '@breakwater/gateway/config';
import { renderVirtualServices } from '../policy/istio.ts';
import { loadPolicySources } from '../policy/sources.ts';
import { baseConfigCopy, renderBase } from './base.ts';
import { DRILL, renderDrill, renderK6ConfigMaps } from './chaos.ts';
import { PROMETHEUS_CONFIG, renderCompose, renderComposePrometheus } from './compose.ts';
import { renderEnvoyGateway } from './envoy-gateway.ts';
import {
  IDENTITY_SOURCE,
  renderClusterIssuerComponent,
  renderEnvoyGatewayBackendTls,
  renderHealthPortPolicies,
  renderIssuers,
  renderIstioIdentityComponent,
  renderSpiffeRbac,
} from './identity.ts';
import { renderDashboards, renderDatasource, renderPodMonitor, renderPrometheusRules } from './monitoring.ts';
import type { ConfigFile } from './platform.ts';

export const HEADER = (source: string) =>
  `# Generated from ${source} by \`npm run render\` (tools/render). Do not edit.\n`;

export function yamlDocuments(source: string, objects: readonly object[]): string {
  return HEADER(source) + objects.map((o) => `---\n${stringify(o)}`).join('');
}

export function renderK8sFiles(root: string): Record<string, string> {
  const { policy, edges } = loadPolicySources(root);
  const gateway = loadGatewayConfig(`${root}/gateway/gateway.yaml`).config;
  const out: Record<string, string> = {};
  // the shop page's public key: readable by anyone who loads the page, so configuration, not a secret
  const frontendKey = gateway.consumers.find((c) => c.name === 'shop-frontend')?.apiKeys[0];
  const extraEnv: Record<string, Record<string, string>> = {
    frontend: frontendKey ? { FRONTEND_API_KEY: frontendKey } : {},
  };
  // gateway.yaml and the JWKS files it names: mounted into the gateway, never baked into its image
  const jwks = gateway.consumers.flatMap((c) => c.jwt.flatMap((j) => ('jwks' in j ? [j.jwks] : [])));
  const configFiles: Record<string, ConfigFile[]> = {
    gateway: ['gateway.yaml', ...new Set(jwks)].map((path) => ({ path, source: `gateway/${path}` })),
  };
  const { files, kustomization } = renderBase(policy, extraEnv, configFiles);
  const source = 'tools/render/src/k8s/platform.ts, mesh/policy.yaml and gateway/gateway.yaml';
  for (const f of files) out[`k8s/base/${f.path}`] = yamlDocuments(source, f.objects);
  out['k8s/base/kustomization.yaml'] = HEADER(source) + stringify(kustomization);
  // kustomize reads only files under the kustomization: the base carries copies
  for (const [w, list] of Object.entries(configFiles))
    for (const f of list)
      out[`k8s/base/${baseConfigCopy(w, f)}`] = readFileSync(`${root}/${f.source}`, 'utf8');

  const mon = 'k8s/components/monitoring';
  out[`${mon}/pod-monitor.yaml`] = yamlDocuments('tools/render/src/k8s/monitoring.ts', [
    renderPodMonitor(policy),
  ]);
  const rules = renderPrometheusRules(policy, `${root}/observability/prometheus/rules`);
  out[`${mon}/prometheus-rules.yaml`] = yamlDocuments(
    `observability/prometheus/rules/{${rules.map((r) => r.file).join(',')}}`,
    rules.map((r) => r.rule),
  );
  const dashboards = renderDashboards(policy, `${root}/observability/grafana/dashboards`);
  const datasource = renderDatasource(
    policy,
    `${root}/observability/grafana/provisioning/datasources/breakwater.yaml`,
  );
  out[`${mon}/grafana.yaml`] = yamlDocuments('observability/grafana/{dashboards,provisioning/datasources}', [
    ...(datasource ? [datasource] : []),
    ...dashboards,
  ]);

  out['compose.yaml'] =
    HEADER('tools/render/src/k8s/compose.ts (the workload list of platform.ts) and mesh/policy.yaml').replace(
      '\n',
      '\n# Needs Docker Compose v2: `docker compose up --build`, then http://127.0.0.1:8080 (gateway),\n# http://127.0.0.1:3000 (Grafana), http://127.0.0.1:9090 (Prometheus).\n',
    ) + stringify(renderCompose(policy, extraEnv, configFiles));
  out[PROMETHEUS_CONFIG] =
    HEADER('tools/render/src/k8s/compose.ts') + stringify(renderComposePrometheus(policy));

  // Kong reads the declarative config the gateway's renderer writes from gateway.yaml; kustomize
  // only reads files under the component, so the component carries a copy
  const kong = `${root}/gateway/rendered/kong.yml`;
  if (existsSync(kong))
    out['k8s/components/kong/kong.yml'] =
      '# Copied from gateway/rendered/kong.yml by `npm run render` (tools/render). Do not edit.\n' +
      readFileSync(kong, 'utf8');

  const eg = renderEnvoyGateway(policy, gateway);
  out['k8s/components/envoy-gateway/envoy-gateway.yaml'] =
    HEADER(
      'gateway/gateway.yaml (read with @breakwater/gateway/config) by tools/render/src/k8s/envoy-gateway.ts',
    ) +
    '#\n# Approximations (what Envoy Gateway cannot express exactly):\n' +
    eg.approximations.map((a) => `#  - ${a}\n`).join('') +
    eg.objects.map((o) => `---\n${stringify(o)}`).join('');

  out['k8s/components/envoy-gateway/backend-tls.yaml'] = yamlDocuments(
    `${IDENTITY_SOURCE} and mesh/policy.yaml`,
    renderEnvoyGatewayBackendTls(policy, policy.namespace),
  );
  out['k8s/components/identity-istio/kustomization.yaml'] =
    HEADER(IDENTITY_SOURCE) + stringify(renderIstioIdentityComponent());
  const ci = 'k8s/components/identity-cluster-issuer';
  out[`${ci}/kustomization.yaml`] =
    HEADER(`${IDENTITY_SOURCE} and mesh/policy.yaml`) + stringify(renderClusterIssuerComponent(policy));
  out[`${ci}/issuers.yaml`] = yamlDocuments(IDENTITY_SOURCE, renderIssuers());
  out[`${ci}/rbac.yaml`] = yamlDocuments(IDENTITY_SOURCE, renderSpiffeRbac(policy));
  out[`${ci}/network-policies.yaml`] = yamlDocuments(
    `${IDENTITY_SOURCE} and mesh/policy.yaml`,
    renderHealthPortPolicies(policy),
  );

  const chaos = 'k8s/components/chaos';
  const k6 = renderK6ConfigMaps(`${root}/k6`);
  const apiKey = gateway.consumers.find((c) => c.apiKeys.length > 0)?.apiKeys[0];
  const gatewayPort = policy.workloads.gateway?.port ?? 8080;
  const dirs = k6.map((c) => c.dir);
  out[`${chaos}/drill.yaml`] = yamlDocuments(
    'tools/render/src/k8s/chaos.ts',
    renderDrill(policy.namespace, gatewayPort, apiKey, k6),
  );
  out[`${chaos}/k6-scripts.yaml`] = yamlDocuments(
    `k6/{${dirs.join(',')}}`,
    k6.map((c) => c.configMap),
  );
  const vs = renderVirtualServices(policy, edges).find((v) => v.metadata?.name === DRILL.target);
  if (vs === undefined) throw new Error(`chaos: no VirtualService for ${DRILL.target}`);
  const faultOps = (vs.spec?.http ?? []).map((_, i) => ({
    op: 'add',
    path: `/spec/http/${i}/fault`,
    value: DRILL.fault,
  }));
  out[`${chaos}/kustomization.yaml`] =
    HEADER('tools/render/src/k8s/chaos.ts') +
    stringify(
      {
        apiVersion: 'kustomize.config.k8s.io/v1alpha1',
        kind: 'Component',
        resources: ['drill.yaml', 'k6-scripts.yaml'],
        // Istio fault injection in place of the local fault controller: every route to the target
        patches: [
          {
            target: { kind: 'VirtualService', name: DRILL.target },
            patch: stringify(faultOps),
          },
        ],
      },
      { lineWidth: 0 },
    );
  return out;
}
