/**
 * policy.yaml → Istio: PeerAuthentication STRICT (PERMISSIVE only on a
 * public workload's port, where clients outside the mesh arrive), an
 * allow-nothing AuthorizationPolicy plus one ALLOW policy per workload naming
 * its callers by principal (an edge with rules gets its own rule whose `to`
 * lists the rules' operations — the same data the server kit enforces), and per edge a DestinationRule (pool, bulkhead,
 * load balancer, outlier detection) and a VirtualService route (per-try timeout, no retries:
 * the caller's mesh client retries).
 */

import {
  edgeOperations,
  externalCallees,
  scrapeOperations,
  scrapeTargets,
} from '@breakwater/mesh/policy/edges';
import {
  type MeshPolicy,
  type Operation,
  principal,
  type UpstreamPolicy,
} from '@breakwater/mesh/policy/schema';
import type { IDestinationRule, IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1';
import type {
  IAuthorizationPolicy,
  IPeerAuthentication,
} from '@kubernetes-models/istio/security.istio.io/v1';
import {
  balancingApproximations,
  istioTrafficPolicyBalancing,
  istioDuration as seconds,
} from './balancing.ts';
import { NAME_LABEL } from './network-policies.ts';

type AuthzRule = NonNullable<NonNullable<IAuthorizationPolicy['spec']>['rules']>[number];

const meta = (policy: MeshPolicy, name: string) => ({
  name,
  namespace: policy.namespace,
  labels: { 'app.kubernetes.io/part-of': 'breakwater', 'app.kubernetes.io/managed-by': 'mesh-policy' },
});
const selector = (w: string) => ({ matchLabels: { [NAME_LABEL]: w } });

export function renderPeerAuthentications(policy: MeshPolicy): IPeerAuthentication[] {
  const out: IPeerAuthentication[] = [
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: meta(policy, 'default'),
      spec: { mtls: { mode: 'STRICT' } },
    },
  ];
  for (const [w, spec] of Object.entries(policy.workloads)) {
    if (!spec.public) continue;
    out.push({
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: meta(policy, `${w}-public-port`),
      spec: {
        selector: selector(w),
        mtls: { mode: 'STRICT' },
        portLevelMtls: { [String(spec.port)]: { mode: 'PERMISSIVE' } },
      },
    });
  }
  return out;
}

/** Principal of a workload or of an external caller in the mesh (undefined when it has none). */
function callerPrincipal(policy: MeshPolicy, caller: string, external: boolean): string | undefined {
  if (!external) return principal(policy.trustDomain, policy.namespace, caller);
  const e = policy.external[caller];
  return e?.serviceAccount ? principal(policy.trustDomain, e.namespace, e.serviceAccount) : undefined;
}

/** Istio `to`: one operation per rule, on the workload's port (operations OR, fields within one AND). */
function operations(port: string, ops: readonly Operation[]): NonNullable<AuthzRule['to']> {
  return ops.map((o) => ({
    operation: {
      ports: [port],
      ...(o.methods ? { methods: [...o.methods] } : {}),
      ...(o.paths ? { paths: [...o.paths] } : {}),
    },
  }));
}

export function renderAuthorizationPolicies(policy: MeshPolicy): IAuthorizationPolicy[] {
  const out: IAuthorizationPolicy[] = [
    // An empty spec matches no request: with it, a workload whose ALLOW list
    // does not name a caller refuses it.
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: meta(policy, 'allow-nothing'),
      spec: {},
    },
  ];
  const targets = new Set(scrapeTargets(policy));
  for (const [w, spec] of Object.entries(policy.workloads)) {
    const port = String(spec.port);
    const rules: AuthzRule[] = [];
    if (spec.public) rules.push({ to: [{ operation: { ports: [port] } }] });
    // Callers allowed every request share one rule; a caller with rules gets one of its own.
    const principals: string[] = [];
    const withRules: [string, readonly Operation[]][] = [];
    const allow = (p: string, ops: readonly Operation[] | undefined) =>
      ops === undefined ? principals.push(p) : withRules.push([p, ops]);
    for (const [caller, callees] of Object.entries(policy.calls))
      if (callees.includes(w))
        allow(callerPrincipal(policy, caller, false) as string, edgeOperations(policy, caller, w));
    for (const ext of Object.keys(policy.external)) {
      const e = policy.external[ext];
      if (e === undefined || e.scrape || e.component !== undefined) continue;
      const p = callerPrincipal(policy, ext, true);
      if (p !== undefined && externalCallees(policy, ext).includes(w))
        allow(p, edgeOperations(policy, ext, w, true));
    }
    if (principals.length > 0)
      rules.push({
        from: [{ source: { principals: principals.sort() } }],
        to: [{ operation: { ports: [port] } }],
      });
    for (const [p, ops] of withRules.sort(([a], [b]) => a.localeCompare(b)))
      rules.push({ from: [{ source: { principals: [p] } }], to: operations(port, ops) });
    if (targets.has(w))
      for (const [ext, e] of Object.entries(policy.external)) {
        const p = callerPrincipal(policy, ext, true);
        if (!e.scrape || e.component !== undefined || p === undefined) continue;
        rules.push({ from: [{ source: { principals: [p] } }], to: operations(port, scrapeOperations(e)) });
      }
    if (rules.length === 0) continue; // allow-nothing already covers it
    out.push({
      apiVersion: 'security.istio.io/v1',
      kind: 'AuthorizationPolicy',
      metadata: meta(policy, w),
      spec: { selector: selector(w), action: 'ALLOW', rules },
    });
  }
  return out;
}

export const host = (policy: MeshPolicy, service: string) =>
  `${service}.${policy.namespace}.svc.cluster.local`;

/** caller → upstream → the caller's call policy for that upstream. */
export type EdgePolicies = Readonly<Record<string, Readonly<Record<string, UpstreamPolicy>>>>;

/**
 * The policy of every HTTP edge: policy.yaml's `edgePolicies`, plus the
 * `upstreams` of each workload's `upstreamPolicies` file, read by `readFile`
 * (the gateway's own config loader). Every HTTP edge needs exactly one.
 */
export function resolveEdgePolicies(
  policy: MeshPolicy,
  readFile: (repoRelativeFile: string) => Readonly<Record<string, UpstreamPolicy>>,
): EdgePolicies {
  const out: Record<string, Record<string, UpstreamPolicy>> = {};
  const problems: string[] = [];
  for (const [caller, callees] of Object.entries(policy.calls)) {
    const file = policy.workloads[caller]?.upstreamPolicies;
    const source = file !== undefined ? readFile(file) : (policy.edgePolicies[caller] ?? {});
    const http = callees.filter((c) => policy.workloads[c]?.kind === 'service');
    for (const c of http)
      if (!(c in source)) problems.push(`${caller} -> ${c}: no call policy (${file ?? 'edgePolicies'})`);
    for (const c of Object.keys(source))
      if (!http.includes(c))
        problems.push(`${caller} -> ${c}: policy for an edge not in calls (${file ?? 'edgePolicies'})`);
    out[caller] = Object.fromEntries(
      http.filter((c) => c in source).map((c) => [c, source[c] as UpstreamPolicy]),
    );
  }
  if (problems.length > 0) throw new Error(`edge policies do not match calls:\n  ${problems.join('\n  ')}`);
  return out;
}

const edgesByUpstream = (edges: EdgePolicies) => {
  const by = new Map<string, [string, UpstreamPolicy][]>();
  for (const caller of Object.keys(edges).sort())
    for (const [up, u] of Object.entries(edges[caller] ?? {}))
      by.set(up, [...(by.get(up) ?? []), [caller, u]]);
  return new Map([...by.entries()].sort(([a], [b]) => a.localeCompare(b)));
};

/**
 * One DestinationRule per edge, bound to the caller's sidecars by
 * workloadSelector: the pool and bulkhead, and the caller's load balancer and
 * outlier detection (balancing.ts). The mesh's per-upstream breaker has no
 * Istio equivalent and is not rendered (POLICY_MAPPING).
 */
export function renderDestinationRules(policy: MeshPolicy, edges: EdgePolicies): IDestinationRule[] {
  const out: IDestinationRule[] = [];
  for (const [up, callers] of edgesByUpstream(edges))
    for (const [caller, u] of callers)
      out.push({
        apiVersion: 'networking.istio.io/v1',
        kind: 'DestinationRule',
        metadata: meta(policy, `${up}-from-${caller}`),
        spec: {
          host: host(policy, up),
          workloadSelector: selector(caller),
          trafficPolicy: {
            connectionPool: {
              tcp: { maxConnections: u.pool.connections, connectTimeout: seconds(u.pool.connectTimeoutMs) },
              http: {
                // the bulkhead: requests in flight, and those allowed to wait (0 means "Istio default", so ≥ 1)
                http2MaxRequests: u.bulkhead.maxConcurrent,
                http1MaxPendingRequests: Math.max(1, u.bulkhead.maxQueue),
                idleTimeout: seconds(u.pool.keepAliveTimeoutMs),
              },
            },
            ...istioTrafficPolicyBalancing(u),
          },
        },
      });
  return out;
}

/**
 * One VirtualService per upstream host; per caller (sourceLabels) a route
 * whose timeout is the caller's per-try timeout and which never retries.
 * Every caller is a workload with the mesh client, which already retries
 * where it is safe, under its retry budget and deadline: sidecar retries
 * would multiply with its own (each of its tries would be tried again) and
 * Istio has no retry budget. `npm run lint -- resilience` checks the rendered
 * file for exactly that.
 */
export function renderVirtualServices(policy: MeshPolicy, edges: EdgePolicies): IVirtualService[] {
  const out: IVirtualService[] = [];
  for (const [up, callers] of edgesByUpstream(edges)) {
    const h = host(policy, up);
    const route = [{ destination: { host: h } }];
    const http = callers.map(([caller, u]) => ({
      name: caller,
      match: [{ sourceLabels: { [NAME_LABEL]: caller } }],
      route,
      timeout: seconds(u.timeoutMs),
      retries: { attempts: 0 },
    }));
    out.push({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: meta(policy, up),
      spec: { hosts: [h], http: [...http, { name: 'default', route, retries: { attempts: 0 } }] },
    });
  }
  return out;
}

/** What the DestinationRules cannot say of the edges' balancing (balancing.ts), one line each. */
export function destinationRuleApproximations(edges: EdgePolicies): string[] {
  return [...edgesByUpstream(edges)].flatMap(([up, callers]) =>
    callers.flatMap(([caller, u]) => balancingApproximations('istio', `${caller} -> ${up}`, u)),
  );
}
