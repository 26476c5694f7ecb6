/**
 * Reads everything the resilience lint judges into a `ResilienceInput`, each
 * source through its owner's entry point:
 *
 * - gateway.yaml (the file policy.yaml's gateway `upstreamPolicies` names)
 *   with the gateway's own config loader: routes, their methods by position,
 *   their overrides, the upstream policies;
 * - every service's mesh client policies, `UPSTREAM_POLICIES` from its
 *   package entry (`@breakwater/orders`), for every HTTP edge the code
 *   configures (code-edges.ts), compared with policy.yaml's edgePolicies;
 * - the Istio render (`k8s/components/istio/virtual-services*.yaml`): the
 *   sidecar's timeout and retries on the same edges;
 * - the OpenAPI documents (`@breakwater/contracts/openapi/<service>.json`):
 *   which operations a route's non-idempotent methods reach, and whether
 *   they require an Idempotency-Key.
 *
 * Tests pass variants as text or data (`ResilienceOverrides`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { type GatewayConfig, loadConfig, parseConfigText } from '@breakwater/gateway/config';
import { parsePolicy as parseUpstreamPolicy, type UpstreamPolicy } from '@breakwater/mesh/policy';
import { loadPolicy, type MeshPolicy } from '@breakwater/mesh/policy/schema';
import { parseAllDocuments } from 'yaml';
import { scanWorkload } from '../policy/code-edges.ts';
import { NAME_LABEL } from '../policy/network-policies.ts';
import { REPO_ROOT } from '../root.ts';
import {
  backoffMaxima,
  type EntryRoute,
  type Hop,
  type Layer,
  meshLayer,
  type Operation,
  type ResilienceInput,
  spanOf,
  type Violation,
} from './resilience-model.ts';

export const ISTIO_DIR = 'k8s/components/istio';

export interface ResilienceOverrides {
  /** gateway.yaml's text instead of the file. */
  gatewayYaml?: string;
  /** The Istio VirtualServices' YAML instead of the rendered files. */
  virtualServicesYaml?: string;
  /** caller → upstream → policy input, instead of the services' UPSTREAM_POLICIES. */
  servicePolicies?: Record<string, Record<string, unknown>>;
}

const require = createRequire(import.meta.url);

export async function loadResilienceInput(
  root = REPO_ROOT,
  o: ResilienceOverrides = {},
): Promise<ResilienceInput> {
  const problems: Violation[] = [];
  const policy = loadPolicy(resolve(root, 'mesh/policy.yaml'));
  const gatewayName = Object.keys(policy.workloads).find((w) => policy.workloads[w]?.upstreamPolicies);
  const gatewayFile = gatewayName ? policy.workloads[gatewayName]?.upstreamPolicies : undefined;
  if (gatewayName === undefined || gatewayFile === undefined)
    throw new Error('mesh/policy.yaml: no workload with upstreamPolicies (the gateway)');
  const gateway: GatewayConfig =
    o.gatewayYaml !== undefined
      ? parseConfigText(o.gatewayYaml)
      : loadConfig(resolve(root, gatewayFile)).config;
  const sidecars = sidecarLayers(
    o.virtualServicesYaml ?? readVirtualServices(root),
    o.virtualServicesYaml !== undefined ? 'VirtualService (given)' : `${ISTIO_DIR}/virtual-services*.yaml`,
  );
  const layersOf = (caller: string, callee: string, mesh: Layer): Layer[] => {
    const sidecar = sidecars.get(`${caller}→${callee}`);
    return sidecar ? [mesh, sidecar] : [mesh];
  };

  const routes: EntryRoute[] = gateway.routes.map((r) => {
    const u = gateway.upstreams[r.upstream] as UpstreamPolicy;
    const mesh = meshLayer(u, `${gatewayFile} upstreams.${r.upstream}`, {
      timeoutMs: r.timeoutMs,
      deadlineMs: r.deadlineMs,
      maxRetries: r.retry?.maxRetries,
    });
    return {
      name: r.name,
      hop: { caller: gatewayName, callee: r.upstream, layers: layersOf(gatewayName, r.upstream, mesh) },
      methods: routeMethods(r, openApiOperations(r.upstream)),
    };
  });

  const hops: Hop[] = [];
  for (const caller of Object.keys(policy.calls)) {
    if (caller === gatewayName) continue;
    const callees = httpCodeEdges(policy, caller, root, problems);
    if (callees.length === 0) continue;
    const declared = o.servicePolicies?.[caller] ?? (await exportedPolicies(caller, problems));
    for (const callee of callees) {
      const input = declared?.[callee];
      const source = `@breakwater/${caller} UPSTREAM_POLICIES.${callee}`;
      if (input === undefined) {
        problems.push({
          rule: 'sources',
          where: `services/${caller}`,
          message: `the code calls ${callee}, but the package entry exports no UPSTREAM_POLICIES.${callee}`,
        });
        continue;
      }
      const p = parseUpstreamPolicy(input, callee);
      const rendered = policy.edgePolicies[caller]?.[callee];
      if (rendered !== undefined && !isDeepStrictEqual(rendered, p))
        problems.push({
          rule: 'sources',
          where: 'mesh/policy.yaml',
          message: `edgePolicies.${caller}.${callee} differs from ${source}: the cluster would run other numbers than the code`,
        });
      hops.push({ caller, callee, layers: layersOf(caller, callee, meshLayer(p, source)) });
    }
  }
  return { routes, hops, problems };
}

/** HTTP services a workload's code calls (createUpstream / <NAME>_URL), by the code-edges scanner. */
function httpCodeEdges(policy: MeshPolicy, caller: string, root: string, problems: Violation[]): string[] {
  let scan: ReturnType<typeof scanWorkload>;
  try {
    scan = scanWorkload(policy, caller, resolve(root, `services/${caller}/src`), root);
  } catch {
    return []; // no Node code (none today): its calls are policy.yaml's alone
  }
  for (const u of scan.unmapped)
    problems.push({
      rule: 'sources',
      where: u,
      message: 'an upstream no workload in mesh/policy.yaml matches',
    });
  return [...scan.callees.keys()].filter((c) => policy.workloads[c]?.kind === 'service').sort();
}

async function exportedPolicies(
  caller: string,
  problems: Violation[],
): Promise<Record<string, unknown> | undefined> {
  const mod = (await import(`@breakwater/${caller}`)) as { UPSTREAM_POLICIES?: Record<string, unknown> };
  if (mod.UPSTREAM_POLICIES === undefined)
    problems.push({
      rule: 'sources',
      where: `services/${caller}`,
      message: 'its package entry exports no UPSTREAM_POLICIES (the mesh client policy of each upstream)',
    });
  return mod.UPSTREAM_POLICIES;
}

function readVirtualServices(root: string): string {
  const dir = resolve(root, ISTIO_DIR);
  return readdirSync(dir)
    .filter((f) => /^virtual-services.*\.ya?ml$/.test(f))
    .sort()
    .map((f) => readFileSync(resolve(dir, f), 'utf8'))
    .join('\n---\n');
}

/** `0.8s`, `800ms`, `1m` → ms (Istio's duration format). */
export function durationMs(d: unknown, where: string): number {
  const m = typeof d === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d) : null;
  if (m === null) throw new Error(`${where}: not a duration: ${JSON.stringify(d)}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

// Envoy's defaults, which Istio does not let a VirtualService change.
const ISTIO_DEFAULT_ATTEMPTS = 2;
const ENVOY_BACKOFF = { baseMs: 25, capMs: 250, jitter: 'full' } as const;

/**
 * "caller→callee" → the sidecar layer of that edge: of the caller's routes
 * in the callee's VirtualService (matched by sourceLabels), the worst one.
 * A route without `retries` retries twice (Istio's default); one without
 * `timeout` has none. Istio has no retry budget.
 */
export function sidecarLayers(text: string, source: string): Map<string, Layer> {
  const out = new Map<string, Layer>();
  for (const doc of parseAllDocuments(text)) {
    // biome-ignore lint/suspicious/noExplicitAny: manifests come from YAML
    const vs = doc.toJS() as Record<string, any> | null;
    if (vs?.kind !== 'VirtualService') continue;
    for (const host of vs.spec?.hosts ?? []) {
      const callee = String(host).split('.')[0] as string;
      for (const h of vs.spec?.http ?? []) {
        const callers = new Set<string>(
          (h.match ?? []).map((m: Record<string, Record<string, string>>) => m.sourceLabels?.[NAME_LABEL]),
        );
        const where = `${source} ${vs.metadata?.name} http ${h.name ?? '?'}`;
        const attempts: number = h.retries?.attempts ?? ISTIO_DEFAULT_ATTEMPTS;
        const deadlineMs = h.timeout === undefined ? Infinity : durationMs(h.timeout, where);
        const perTry =
          attempts > 0 && h.retries?.perTryTimeout !== undefined
            ? durationMs(h.retries.perTryTimeout, where)
            : deadlineMs;
        const layer: Layer = {
          kind: 'Istio sidecar',
          source: where,
          timeoutMs: perTry,
          deadlineMs,
          maxRetries: attempts,
          backoffMaxMs: backoffMaxima(ENVOY_BACKOFF, attempts),
          budget: undefined,
        };
        for (const caller of callers) {
          if (caller === undefined) continue; // a default route: no caller of ours
          const key = `${caller}→${callee}`;
          const prev = out.get(key);
          if (prev === undefined || worse(layer, prev)) out.set(key, layer);
        }
      }
    }
  }
  return out;
}

const worse = (a: Layer, b: Layer) =>
  a.maxRetries !== b.maxRetries ? a.maxRetries > b.maxRetries : spanOf(a) > spanOf(b);

/** An upstream's operations from its OpenAPI document (undefined when it has none). */
function openApiOperations(service: string): Operation[] | undefined {
  let file: string;
  try {
    file = require.resolve(`@breakwater/contracts/openapi/${service}.json`);
  } catch {
    return undefined;
  }
  // biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document
  const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: an OpenAPI parameter or a $ref to one
  const deref = (p: any) =>
    typeof p?.$ref === 'string' ? doc.components?.parameters?.[p.$ref.split('/').at(-1)] : p;
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {}))
    for (const [method, op] of Object.entries(item as Record<string, { parameters?: unknown[] }>)) {
      if (typeof op !== 'object' || op === null || !('responses' in op)) continue;
      const params = [
        ...((item as { parameters?: unknown[] }).parameters ?? []),
        ...(op.parameters ?? []),
      ].map(deref);
      ops.push({
        method: method.toUpperCase(),
        path,
        idempotencyKeyRequired: params.some(
          (p) =>
            p?.in === 'header' && String(p.name).toLowerCase() === 'idempotency-key' && p.required === true,
        ),
      });
    }
  return ops;
}

/**
 * The methods a gateway route forwards and the upstream operations each
 * reaches: `methodsAt.exact` at the prefix itself, `methodsAt.below` under
 * it (both default to `methods`), after `stripPrefix`.
 */
function routeMethods(
  r: GatewayConfig['routes'][number],
  ops: Operation[] | undefined,
): EntryRoute['methods'] {
  const stripped = r.stripPrefix !== undefined ? r.path.slice(r.stripPrefix.length) : r.path;
  const prefix = stripped.replace(/\/$/, '');
  const exact = new Set(r.methodsAt?.exact ?? r.methods);
  const below = new Set(r.methodsAt?.below ?? r.methods);
  return r.methods.map((method) => ({
    method,
    operations: ops?.filter(
      (op) =>
        op.method === method &&
        ((exact.has(method) && op.path === (prefix || '/')) ||
          (below.has(method) && op.path.startsWith(`${prefix}/`) && op.path !== (prefix || '/'))),
    ),
  }));
}
