/**
 * The chaos component: a drill on a cluster is steady k6 traffic through the
 * gateway while Istio injects the fault that the local fault controller
 * injects on a laptop. The k6 scripts ship as ConfigMaps (their directory
 * layout kept, so `../lib/…` imports resolve) and run in a Job in their own
 * namespace, outside the mesh, entering through the public gateway like a
 * user would.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { IJob } from 'kubernetes-models/batch/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import type { IConfigMap, INamespace } from 'kubernetes-models/v1';
import { HARDENED } from './base.ts';

export const DRILL_NAMESPACE = 'breakwater-drills';
/** The k6 release tools/k6/go.mod pins, as the grafana/k6 image tag. */
export const K6_IMAGE = 'grafana/k6:2.2.0';
/**
 * Script directories shipped to the cluster (each directory one ConfigMap,
 * projected under /k6/<dir>). Not k6/chaos: those drills drive the laptop's
 * fault controller, which a cluster does not have.
 */
export const K6_DIRS = ['lib', 'load'] as const;

/** The drill the component runs: the script and the Istio fault that stands in for the local fault controller. */
export const DRILL = {
  name: 'payments-down',
  // k6/chaos/*.ts drive the laptop's fault controller (kill a process, admin
  // endpoints); on a cluster Istio injects the fault, so the traffic is a load profile
  script: 'load/smoke.ts',
  /** The upstream whose VirtualService routes get the fault, and the fault (Istio HTTPFaultInjection). */
  target: 'payments',
  fault: { abort: { httpStatus: 503, percentage: { value: 100 } } },
} as const;

const LABELS = { 'app.kubernetes.io/part-of': 'breakwater', 'app.kubernetes.io/name': 'k6' };

/** Script directories under k6/ (nested ones included, e.g. chaos/lib), each one ConfigMap. */
export function k6Directories(k6Dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = resolve(k6Dir, rel);
    if (!existsSync(abs)) return;
    out.push(rel);
    for (const e of readdirSync(abs, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)))
      if (e.isDirectory()) walk(`${rel}/${e.name}`);
  };
  for (const d of K6_DIRS) walk(d);
  return out;
}

/** ConfigMap name of a k6 directory: `chaos/lib` → `k6-chaos-lib`. */
export const k6ConfigMapName = (dir: string) => `k6-${dir.replaceAll('/', '-')}`;

export function renderK6ConfigMaps(k6Dir: string): { dir: string; configMap: IConfigMap }[] {
  return k6Directories(k6Dir).map((d) => ({
    dir: d,
    configMap: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: k6ConfigMapName(d), namespace: DRILL_NAMESPACE, labels: LABELS },
      data: Object.fromEntries(
        readdirSync(resolve(k6Dir, d), { withFileTypes: true })
          .filter(
            (f) =>
              f.isFile() &&
              f.name.endsWith('.ts') &&
              !f.name.endsWith('.test.ts') &&
              !f.name.endsWith('.d.ts'),
          )
          .map((f) => f.name)
          .sort()
          .map((f) => [f, readFileSync(resolve(k6Dir, d, f), 'utf8')]),
      ),
    },
  }));
}

export function renderDrill(
  namespace: string,
  gatewayPort: number,
  apiKey: string | undefined,
  scripts: readonly { dir: string; configMap: IConfigMap }[],
): object[] {
  const ns: INamespace = {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: {
      name: DRILL_NAMESPACE,
      labels: {
        'app.kubernetes.io/part-of': 'breakwater',
        'pod-security.kubernetes.io/enforce': 'restricted',
      },
    },
  };
  const np: INetworkPolicy = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'k6-to-gateway-only', namespace: DRILL_NAMESPACE, labels: LABELS },
    spec: {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      egress: [
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
        {
          to: [
            {
              namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': namespace } },
              podSelector: { matchLabels: { 'app.kubernetes.io/name': 'gateway' } },
            },
          ],
          ports: [{ protocol: 'TCP', port: gatewayPort }],
        },
      ],
    },
  };
  const job: IJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `drill-${DRILL.name}`, namespace: DRILL_NAMESPACE, labels: LABELS },
    spec: {
      backoffLimit: 0, // the k6 exit code is the verdict: never retry a failed drill into a pass
      template: {
        metadata: { labels: LABELS },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 12345, // the grafana/k6 image's k6 user
            runAsGroup: 12345,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'k6',
              image: K6_IMAGE,
              args: ['run', '--quiet', `/k6/${DRILL.script}`],
              env: [
                { name: 'BASE_URL', value: `http://gateway.${namespace}.svc` },
                ...(apiKey ? [{ name: 'API_KEY', value: apiKey }] : []),
                { name: 'K6_NO_USAGE_REPORT', value: 'true' },
              ],
              resources: {
                requests: { cpu: '250m', memory: '256Mi' },
                limits: { cpu: '1', memory: '512Mi' },
              },
              securityContext: HARDENED,
              volumeMounts: [
                { name: 'k6', mountPath: '/k6', readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
            },
          ],
          volumes: [
            {
              // one tree at /k6 from every directory's ConfigMap, so `../lib/…` imports resolve
              // (a ConfigMap volume cannot hold another mount inside it)
              name: 'k6',
              projected: {
                sources: scripts.map(({ dir, configMap }) => ({
                  configMap: {
                    name: configMap.metadata?.name as string,
                    items: Object.keys(configMap.data ?? {}).map((f) => ({ key: f, path: `${dir}/${f}` })),
                  },
                })),
              },
            },
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
          ],
        },
      },
    },
  };
  return [ns, np, job];
}
