/**
 * Read rendered (or kustomize-built) NetworkPolicies and AuthorizationPolicies
 * back into edges, so a test can prove each view says what policy.yaml says.
 * Anything these readers cannot attribute to a known caller is an error, not
 * an edge silently dropped.
 */
import {
  type Edge,
  edge,
  externalName,
  operationLine,
  sortEdges,
  WORLD,
} from '@breakwater/mesh/policy/edges';
import type { MeshPolicy } from '@breakwater/mesh/policy/schema';
import { ISTIOD, NAME_LABEL } from './network-policies.ts';

// biome-ignore lint/suspicious/noExplicitAny: manifests come from YAML
type Obj = Record<string, any>;

const NS_LABEL = 'kubernetes.io/metadata.name';

function selectedWorkload(selector: Obj | undefined, where: string): string | undefined {
  const labels = selector?.matchLabels ?? {};
  if (Object.keys(labels).length === 0) return undefined; // selects every pod
  const w = labels[NAME_LABEL];
  if (typeof w !== 'string' || Object.keys(labels).length !== 1)
    throw new Error(`${where}: selector must be exactly {${NAME_LABEL}: <workload>}`);
  return w;
}

function externalByPeer(policy: MeshPolicy, peer: Obj, where: string): string {
  const ns = peer.namespaceSelector?.matchLabels?.[NS_LABEL];
  const labels = JSON.stringify(peer.podSelector?.matchLabels ?? {});
  for (const [name, e] of Object.entries(policy.external))
    if (e.namespace === ns && JSON.stringify(e.podLabels) === labels) return externalName(name);
  throw new Error(`${where}: peer ${JSON.stringify(peer)} is no external caller of the policy`);
}

/** The only peers every pod may reach: cluster DNS and (with Istio) istiod. */
function isInfrastructure(peer: Obj): boolean {
  const ns = peer.namespaceSelector?.matchLabels?.[NS_LABEL];
  const pods = JSON.stringify(peer.podSelector?.matchLabels ?? {});
  return (
    (ns === 'kube-system' && pods === JSON.stringify({ 'k8s-app': 'kube-dns' })) ||
    (ns === ISTIOD.namespace && pods === JSON.stringify(ISTIOD.podLabels))
  );
}

export interface NetworkPolicyEdges {
  /** Edges as the callee's ingress rules allow them. */
  ingress: Edge[];
  /** Edges as the caller's egress rules allow them (in-namespace callers only). */
  egress: Edge[];
}

export function networkPolicyEdges(policy: MeshPolicy, objects: readonly Obj[]): NetworkPolicyEdges {
  const ingress: Edge[] = [];
  const egress: Edge[] = [];
  for (const np of objects) {
    if (np.kind !== 'NetworkPolicy') continue;
    const where = `NetworkPolicy ${np.metadata?.name}`;
    const w = selectedWorkload(np.spec?.podSelector, where);
    if (w === undefined) {
      // namespace-wide: only the default deny and DNS are allowed to be that broad
      for (const r of np.spec?.ingress ?? [])
        throw new Error(`${where}: namespace-wide ingress ${JSON.stringify(r)}`);
      for (const r of np.spec?.egress ?? [])
        for (const to of r.to ?? [])
          if (!isInfrastructure(to))
            throw new Error(`${where}: namespace-wide egress other than DNS or istiod`);
      continue;
    }
    for (const r of np.spec?.ingress ?? []) {
      if (!r.from || r.from.length === 0) ingress.push(edge(WORLD, w));
      for (const peer of r.from ?? []) {
        if (peer.ipBlock) throw new Error(`${where}: ipBlock peers are not part of the policy`);
        if (peer.namespaceSelector) ingress.push(edge(externalByPeer(policy, peer, where), w));
        else {
          const c = selectedWorkload(peer.podSelector, where);
          if (c === undefined) throw new Error(`${where}: ingress from every pod`);
          ingress.push(edge(c, w));
        }
      }
    }
    for (const r of np.spec?.egress ?? []) {
      if (!r.to || r.to.length === 0) throw new Error(`${where}: egress to anywhere`);
      for (const peer of r.to) {
        if (peer.ipBlock || peer.namespaceSelector) throw new Error(`${where}: egress out of the namespace`);
        const c = selectedWorkload(peer.podSelector, where);
        if (c === undefined) throw new Error(`${where}: egress to every pod`);
        egress.push(edge(w, c));
      }
    }
  }
  return { ingress: sortEdges(ingress), egress: sortEdges(egress) };
}

/** `cluster.local/ns/<ns>/sa/<sa>`; a `spiffe://` prefix never matches in Istio, so it is refused. */
export function parsePrincipal(p: string): {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
} {
  if (p.startsWith('spiffe://'))
    throw new Error(
      `principal "${p}" carries spiffe://: Istio principals are <trust-domain>/ns/<ns>/sa/<sa>`,
    );
  const m = /^([^/]+)\/ns\/([a-z0-9-]+)\/sa\/([a-z0-9-]+)$/.exec(p);
  if (!m) throw new Error(`principal "${p}" is not <trust-domain>/ns/<ns>/sa/<sa>`);
  return { trustDomain: m[1] as string, namespace: m[2] as string, serviceAccount: m[3] as string };
}

function callerOfPrincipal(policy: MeshPolicy, p: string): string {
  const { trustDomain, namespace, serviceAccount } = parsePrincipal(p);
  if (trustDomain !== policy.trustDomain) throw new Error(`principal "${p}": foreign trust domain`);
  if (namespace === policy.namespace) {
    if (!(serviceAccount in policy.workloads)) throw new Error(`principal "${p}": no such workload`);
    return serviceAccount;
  }
  for (const [name, e] of Object.entries(policy.external))
    if (e.namespace === namespace && e.serviceAccount === serviceAccount) return externalName(name);
  throw new Error(`principal "${p}" is no caller of the policy`);
}

export function authorizationPolicyEdges(policy: MeshPolicy, objects: readonly Obj[]): Edge[] {
  const out: Edge[] = [];
  for (const ap of objects) {
    if (ap.kind !== 'AuthorizationPolicy') continue;
    const where = `AuthorizationPolicy ${ap.metadata?.name}`;
    const action = ap.spec?.action ?? 'ALLOW';
    const w = selectedWorkload(ap.spec?.selector, where);
    if (w === undefined) {
      if ((ap.spec?.rules ?? []).length > 0 && action === 'ALLOW')
        throw new Error(`${where}: namespace-wide ALLOW`);
      continue;
    }
    if (action !== 'ALLOW') continue;
    for (const r of ap.spec?.rules ?? []) {
      if (!r.from || r.from.length === 0) out.push(edge(WORLD, w));
      for (const f of r.from ?? []) {
        const s = f.source ?? {};
        const keys = Object.keys(s);
        if (keys.length !== 1 || !Array.isArray(s.principals))
          throw new Error(`${where}: sources must be principals only, got ${keys.join(', ')}`);
        for (const p of s.principals) out.push(edge(callerOfPrincipal(policy, p), w));
      }
    }
  }
  return sortEdges(out);
}

/**
 * What each allowed caller may send, read back from the ALLOW rules in the
 * form of `policyOperations` (mesh/src/policy/edges.ts): per caller and
 * workload one line per `to` operation, its methods and paths (`* *` for one
 * that names neither: every request on the port).
 */
export function authorizationPolicyOperations(policy: MeshPolicy, objects: readonly Obj[]): string[] {
  const out: string[] = [];
  for (const ap of objects) {
    if (ap.kind !== 'AuthorizationPolicy' || (ap.spec?.action ?? 'ALLOW') !== 'ALLOW') continue;
    const where = `AuthorizationPolicy ${ap.metadata?.name}`;
    const w = selectedWorkload(ap.spec?.selector, where);
    if (w === undefined) continue; // authorizationPolicyEdges refuses a namespace-wide ALLOW
    for (const r of ap.spec?.rules ?? []) {
      const callers: string[] =
        !r.from || r.from.length === 0
          ? [WORLD]
          : r.from.flatMap((f: Obj) =>
              (f.source?.principals ?? []).map((p: string) => callerOfPrincipal(policy, p)),
            );
      for (const t of r.to ?? [{}]) {
        const { methods, paths, ...rest } = t.operation ?? {};
        const extra = Object.keys(rest).filter((k) => k !== 'ports');
        if (extra.length > 0)
          throw new Error(`${where}: operation fields the policy cannot say: ${extra.join(', ')}`);
        for (const c of callers) out.push(operationLine(c, w, { methods, paths }));
      }
    }
  }
  return [...new Set(out)].sort();
}
