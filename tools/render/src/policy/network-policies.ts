/**
 * policy.yaml → NetworkPolicies. Default deny of ingress and egress for
 * every pod in the namespace, DNS allowed, then one policy per workload
 * allowing exactly its inbound and outbound edges. NetworkPolicies are
 * additive, so a component (envoy-gateway) adds its callers' rules as extra
 * ingress-only policies without touching the always-on set.
 */

import { externalCallees, scrapeTargets } from '@breakwater/mesh/policy/edges';
import type { MeshPolicy } from '@breakwater/mesh/policy/schema';
import type {
  INetworkPolicy,
  INetworkPolicyIngressRule as IngressRule,
} from 'kubernetes-models/networking.k8s.io/v1';

export const NAME_LABEL = 'app.kubernetes.io/name';
const NS_LABEL = 'kubernetes.io/metadata.name';

const meta = (policy: MeshPolicy, name: string) => ({
  name,
  namespace: policy.namespace,
  labels: { 'app.kubernetes.io/part-of': 'breakwater', 'app.kubernetes.io/managed-by': 'mesh-policy' },
});
const pods = (w: string) => ({ matchLabels: { [NAME_LABEL]: w } });
const tcp = (port: number) => [{ protocol: 'TCP' as const, port }];

function externalPeer(policy: MeshPolicy, ext: string) {
  const e = policy.external[ext];
  if (e === undefined) throw new Error(`unknown external caller ${ext}`);
  return {
    namespaceSelector: { matchLabels: { [NS_LABEL]: e.namespace } },
    podSelector: { matchLabels: e.podLabels },
  };
}

/** The always-on set: default deny, DNS, and every workload's in-namespace edges, scrapers and public entry. */
export function renderNetworkPolicies(policy: MeshPolicy): INetworkPolicy[] {
  const out: INetworkPolicy[] = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(policy, 'default-deny'),
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(policy, 'allow-dns'),
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { [NS_LABEL]: 'kube-system' } },
                podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
              },
            ],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    },
  ];
  const scrapers = Object.entries(policy.external).filter(([, e]) => e.scrape && e.component === undefined);
  const targets = new Set(scrapeTargets(policy));
  for (const [w, spec] of Object.entries(policy.workloads)) {
    const ingress: IngressRule[] = [];
    if (spec.public) ingress.push({ ports: tcp(spec.port) });
    const callers = Object.entries(policy.calls)
      .filter(([, callees]) => callees.includes(w))
      .map(([c]) => c);
    for (const c of callers) ingress.push({ from: [{ podSelector: pods(c) }], ports: tcp(spec.port) });
    for (const [ext, e] of Object.entries(policy.external)) {
      if (e.component !== undefined || e.scrape) continue;
      if (externalCallees(policy, ext).includes(w))
        ingress.push({ from: [externalPeer(policy, ext)], ports: tcp(spec.port) });
    }
    if (targets.has(w))
      for (const [ext] of scrapers)
        ingress.push({ from: [externalPeer(policy, ext)], ports: tcp(spec.port) });
    const egress = (policy.calls[w] ?? []).map((c) => {
      const port = policy.workloads[c]?.port;
      if (port === undefined) throw new Error(`unknown workload ${c}`);
      return { to: [{ podSelector: pods(c) }], ports: tcp(port) };
    });
    const policyTypes: ('Ingress' | 'Egress')[] = [];
    if (ingress.length > 0) policyTypes.push('Ingress');
    if (egress.length > 0) policyTypes.push('Egress');
    if (policyTypes.length === 0) continue; // default-deny already covers it
    out.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(policy, w),
      spec: {
        podSelector: pods(w),
        policyTypes,
        ...(ingress.length > 0 ? { ingress } : {}),
        ...(egress.length > 0 ? { egress } : {}),
      },
    });
  }
  return out;
}

/** Ingress-only policies for the external callers rendered into `component`. */
export function renderComponentNetworkPolicies(policy: MeshPolicy, component: string): INetworkPolicy[] {
  const out: INetworkPolicy[] = [];
  for (const [ext, e] of Object.entries(policy.external)) {
    if (e.component !== component) continue;
    const targets = [...externalCallees(policy, ext), ...(e.scrape ? scrapeTargets(policy) : [])];
    for (const w of [...new Set(targets)]) {
      const port = policy.workloads[w]?.port;
      if (port === undefined) throw new Error(`unknown workload ${w}`);
      out.push({
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: meta(policy, `${w}-from-${ext}`),
        spec: {
          podSelector: pods(w),
          policyTypes: ['Ingress'],
          ingress: [{ from: [externalPeer(policy, ext)], ports: tcp(port) }],
        },
      });
    }
  }
  return out;
}

/** Where sidecars get config and certificates (istiod's xDS + CA port). */
export const ISTIOD = { namespace: 'istio-system', podLabels: { app: 'istiod' }, port: 15012 } as const;
/** The sidecar's merged Prometheus endpoint (application + Envoy metrics; plain HTTP, outside mTLS). */
export const ISTIO_MERGED_METRICS_PORT = 15020;

/**
 * For the istio component: every pod's sidecar reaches istiod, and scrapers
 * reach each scrape target's merged-metrics port instead of the app port
 * (STRICT mTLS would refuse a scraper outside the mesh there).
 */
export function renderIstioNetworkPolicies(policy: MeshPolicy): INetworkPolicy[] {
  const out: INetworkPolicy[] = [
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: meta(policy, 'allow-istiod'),
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { [NS_LABEL]: ISTIOD.namespace } },
                podSelector: { matchLabels: { ...ISTIOD.podLabels } },
              },
            ],
            ports: tcp(ISTIOD.port),
          },
        ],
      },
    },
  ];
  return [...out, ...scrapePortPolicies(policy, ISTIO_MERGED_METRICS_PORT, 'merged-metrics')];
}

/**
 * Scrapers reach `port` on every scrape target: a metrics port beside the
 * app port, for a scraper that cannot speak the app port's mTLS (Istio's
 * merged-metrics port, the cluster-issuer identity's health port).
 */
export function scrapePortPolicies(policy: MeshPolicy, port: number, suffix: string): INetworkPolicy[] {
  const scrapers = Object.keys(policy.external).filter((e) => policy.external[e]?.scrape);
  if (scrapers.length === 0) return [];
  return scrapeTargets(policy).map((w) => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: meta(policy, `${w}-${suffix}`),
    spec: {
      podSelector: pods(w),
      policyTypes: ['Ingress'],
      ingress: [{ from: scrapers.map((s) => externalPeer(policy, s)), ports: tcp(port) }],
    },
  }));
}
