/**
 * policy.yaml → Istio: PeerAuthentication STRICT (PERMISSIVE only on a
 * public workload's port, where clients outside the mesh arrive), an
 * allow-nothing AuthorizationPolicy plus one ALLOW policy per workload naming
 * its callers by principal, and per upstream a DestinationRule and a
 * VirtualService carrying the same resilience knobs as the mesh client.
 */

import type { IDestinationRule, IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1';
import type {
  IAuthorizationPolicy,
  IPeerAuthentication,
} from '@kubernetes-models/istio/security.istio.io/v1';
import { externalCallees, scrapeTargets } from './edges.ts';
import { NAME_LABEL } from './network-policies.ts';
import { type MeshPolicy, principal, type UpstreamPolicy } from './schema.ts';

type AuthzRule = NonNullable<NonNullable<IAuthorizationPolicy['spec']>['rules']>[number];

const meta = (policy: MeshPolicy, name: string) => ({
  name,
  namespace: policy.namespace,
  labels: { 'app.kubernetes.io/part-of': 'breakwater', 'app.kubernetes.io/managed-by': 'mesh-policy' },
});
const selector = (w: string) => ({ matchLabels: { [NAME_LABEL]: w } });
const seconds = (ms: number) => `${ms / 1000}s`;

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
    const principals: string[] = [];
    for (const [caller, callees] of Object.entries(policy.calls))
      if (callees.includes(w)) principals.push(callerPrincipal(policy, caller, false) as string);
    for (const ext of Object.keys(policy.external)) {
      const e = policy.external[ext];
      if (e === undefined || e.scrape || e.component !== undefined) continue;
      const p = callerPrincipal(policy, ext, true);
      if (p !== undefined && externalCallees(policy, ext).includes(w)) principals.push(p);
    }
    if (principals.length > 0)
      rules.push({
        from: [{ source: { principals: principals.sort() } }],
        to: [{ operation: { ports: [port] } }],
      });
    if (targets.has(w))
      for (const [ext, e] of Object.entries(policy.external)) {
        const p = callerPrincipal(policy, ext, true);
        if (!e.scrape || e.component !== undefined || p === undefined) continue;
        rules.push({
          from: [{ source: { principals: [p] } }],
          to: [{ operation: { ports: [port], methods: ['GET'], paths: [e.scrape.path] } }],
        });
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

/**
 * Istio's outlier detection has no error-percentage trigger, so the breaker's
 * "errorPct of at least `volume` calls" becomes that many consecutive 5xx
 * (errorPct × volume, rounded up), counted over the breaker window and
 * ejecting for its reset time.
 */
export function consecutiveErrors(u: UpstreamPolicy): number {
  return Math.max(1, Math.ceil((u.breaker.errorPct / 100) * u.breaker.volume));
}

export function renderDestinationRules(policy: MeshPolicy): IDestinationRule[] {
  return Object.entries(policy.upstreams).map(([svc, u]) => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: meta(policy, svc),
    spec: {
      host: host(policy, svc),
      trafficPolicy: {
        connectionPool: {
          tcp: { connectTimeout: seconds(u.connectTimeoutMs) },
          http: {
            // the bulkhead: requests in flight, and those allowed to wait (0 in Istio means "default", so ≥ 1)
            http2MaxRequests: u.bulkhead.maxConcurrent,
            http1MaxPendingRequests: Math.max(1, u.bulkhead.maxQueue),
            maxRetries: Math.max(1, Math.ceil(u.bulkhead.maxConcurrent * 0.2)), // ~20 % retry budget
          },
        },
        outlierDetection: {
          consecutive5xxErrors: consecutiveErrors(u),
          interval: seconds(u.breaker.windowMs),
          baseEjectionTime: seconds(u.breaker.resetMs),
          maxEjectionPercent: 100,
        },
      },
    },
  }));
}

export function renderVirtualServices(policy: MeshPolicy): IVirtualService[] {
  return Object.entries(policy.upstreams).map(([svc, u]) => {
    const h = host(policy, svc);
    const deadline = u.deadlineMs ?? u.timeoutMs * u.retry.attempts;
    const route = [{ destination: { host: h } }];
    return {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: meta(policy, svc),
      spec: {
        hosts: [h],
        http: [
          {
            // retries only where they are safe: idempotent reads
            name: 'idempotent',
            match: [{ method: { exact: 'GET' } }, { method: { exact: 'HEAD' } }],
            route,
            timeout: seconds(deadline),
            retries:
              u.retry.attempts > 1
                ? {
                    attempts: u.retry.attempts - 1,
                    perTryTimeout: seconds(u.timeoutMs),
                    retryOn: 'connect-failure,refused-stream,reset,unavailable,gateway-error',
                  }
                : { attempts: 0 },
          },
          { name: 'default', route, timeout: seconds(u.timeoutMs), retries: { attempts: 0 } },
        ],
      },
    };
  });
}
