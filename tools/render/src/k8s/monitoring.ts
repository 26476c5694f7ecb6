/**
 * The monitoring component, for the Prometheus operator as kube-prometheus-stack
 * installs it (release name `kube-prometheus-stack` in namespace `monitoring`):
 * a PodMonitor for every service and worker, the rule files of
 * observability/prometheus/rules as PrometheusRules, and the dashboards and
 * datasource of observability/grafana as ConfigMaps for Grafana's sidecar.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { MeshPolicy } from '@breakwater/mesh/policy/schema';
import type {
  IPodMonitor,
  IPrometheusRule,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import type { IConfigMap } from 'kubernetes-models/v1';
import { parse } from 'yaml';

/** kube-prometheus-stack selects PodMonitors and PrometheusRules by its release label. */
export const RELEASE = { release: 'kube-prometheus-stack' } as const;
/** The in-cluster Prometheus of kube-prometheus-stack (the datasource Grafana queries). */
export const PROMETHEUS_URL = 'http://kube-prometheus-stack-prometheus.monitoring.svc:9090';

export function renderPodMonitor(policy: MeshPolicy): IPodMonitor {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: { name: 'breakwater', namespace: policy.namespace, labels: { ...RELEASE } },
    spec: {
      selector: {
        matchLabels: { 'app.kubernetes.io/part-of': 'breakwater' },
        matchExpressions: [
          { key: 'app.kubernetes.io/component', operator: 'In', values: ['server', 'worker'] },
        ],
      },
      podMetricsEndpoints: [{ port: 'http', path: '/metrics', interval: '15s' }],
    },
  };
}

const kebab = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

export function renderPrometheusRules(
  policy: MeshPolicy,
  rulesDir: string,
): { file: string; rule: IPrometheusRule }[] {
  if (!existsSync(rulesDir)) return [];
  return readdirSync(rulesDir)
    .filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const doc = parse(readFileSync(resolve(rulesDir, f), 'utf8')) as { groups?: unknown };
      if (!Array.isArray(doc?.groups)) throw new Error(`${f}: no groups`);
      const name = `breakwater-${kebab(basename(f).replace(/\.ya?ml$/, ''))}`;
      return {
        file: f,
        rule: {
          apiVersion: 'monitoring.coreos.com/v1',
          kind: 'PrometheusRule',
          metadata: { name, namespace: policy.namespace, labels: { ...RELEASE } },
          spec: { groups: doc.groups as NonNullable<IPrometheusRule['spec']>['groups'] },
        },
      };
    });
}

export function renderDashboards(policy: MeshPolicy, dashboardsDir: string): IConfigMap[] {
  if (!existsSync(dashboardsDir)) return [];
  return readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: `grafana-dashboard-${kebab(f.replace(/\.json$/, ''))}`,
        namespace: policy.namespace,
        labels: { grafana_dashboard: '1', 'app.kubernetes.io/part-of': 'breakwater' },
        annotations: { grafana_folder: 'Breakwater' },
      },
      data: { [f]: readFileSync(resolve(dashboardsDir, f), 'utf8') },
    }));
}

/** The datasource the dashboards reference, pointing at kube-prometheus-stack's Prometheus. */
export function renderDatasource(policy: MeshPolicy, provisioningFile: string): IConfigMap | undefined {
  if (!existsSync(provisioningFile)) return undefined;
  const text = readFileSync(provisioningFile, 'utf8').replaceAll(`\${PROMETHEUS_URL}`, PROMETHEUS_URL);
  // the dashboards name their datasource by uid; kube-prometheus-stack has its own default
  const doc = parse(text) as {
    datasources?: { isDefault?: boolean; jsonData?: { exemplarTraceIdDestinations?: unknown } }[];
  };
  for (const d of doc.datasources ?? []) {
    d.isDefault = false;
    // Exemplars link to the local Zipkin's datasource (zipkin.yaml), which the cluster does not have.
    delete d.jsonData?.exemplarTraceIdDestinations;
  }
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'grafana-datasource-breakwater',
      namespace: policy.namespace,
      labels: { grafana_datasource: '1', 'app.kubernetes.io/part-of': 'breakwater' },
    },
    data: { 'breakwater.yaml': JSON.stringify(doc, null, 2) },
  };
}
