/**
 * Edges: "caller may open a connection to callee's port". Every view of the
 * policy (policy.yaml, NetworkPolicies, AuthorizationPolicies, the code's
 * configured upstreams) reduces to a sorted list of these strings so tests
 * can compare views with one `toEqual`.
 */
import { describeOperations, type Operation } from './operations.ts';
import type { MeshPolicy } from './schema.ts';

/** `caller -> callee`; an external caller is written `ext:<name>`. */
export type Edge = `${string} -> ${string}`;

export const edge = (from: string, to: string): Edge => `${from} -> ${to}`;
export const externalName = (name: string): string => `ext:${name}`;
/** Anyone, from inside or outside the cluster: the caller of a public workload. */
export const WORLD = 'ext:world';

export function sortEdges(edges: Iterable<Edge>): Edge[] {
  return [...new Set(edges)].sort();
}

export interface EdgeOptions {
  /** Include external callers' edges (scrapers, stand-ins, their own calls). */
  external?: boolean;
  /** Only external callers rendered into this component (undefined: the always-on ones). */
  component?: string;
}

/** Callees of an external caller: its own list plus the stand-in's (without datastores it reaches itself). */
export function externalCallees(policy: MeshPolicy, name: string): string[] {
  const e = policy.external[name];
  if (e === undefined) return [];
  const fromStandIn = e.standsInFor
    ? (policy.calls[e.standsInFor] ?? []).filter((c) => policy.workloads[c]?.kind === 'service')
    : [];
  return [...new Set([...fromStandIn, ...e.calls])];
}

/** Workloads a scraper may reach: every service and worker (datastores expose no metrics path). */
export function scrapeTargets(policy: MeshPolicy): string[] {
  return Object.entries(policy.workloads)
    .filter(([, w]) => w.kind !== 'datastore')
    .map(([n]) => n);
}

/** The edges policy.yaml allows. */
export function policyEdges(policy: MeshPolicy, opts: EdgeOptions = {}): Edge[] {
  const out: Edge[] = [];
  if (opts.component === undefined)
    for (const [caller, callees] of Object.entries(policy.calls))
      for (const c of callees) out.push(edge(caller, c));
  if (opts.external && opts.component === undefined)
    for (const [w, spec] of Object.entries(policy.workloads)) if (spec.public) out.push(edge(WORLD, w));
  if (opts.external || opts.component !== undefined) {
    for (const [name, e] of Object.entries(policy.external)) {
      if (e.component !== opts.component) continue;
      const from = externalName(name);
      for (const c of externalCallees(policy, name)) out.push(edge(from, c));
      if (e.scrape) for (const t of scrapeTargets(policy)) out.push(edge(from, t));
    }
  }
  return sortEdges(out);
}

/**
 * The operations `caller` may send `callee` (./operations.ts), undefined when
 * the edge has no rules (every request) or does not exist. An external caller
 * standing in for a workload takes that workload's rules.
 */
export function edgeOperations(
  policy: MeshPolicy,
  caller: string,
  callee: string,
  external = false,
): readonly Operation[] | undefined {
  if (!external) return policy.callRules[caller]?.[callee];
  const e = policy.external[caller];
  if (e?.standsInFor === undefined || e.calls.includes(callee)) return undefined;
  return policy.callRules[e.standsInFor]?.[callee];
}

/** What a scraper may send every service and worker: GET its scrape path. */
export function scrapeOperations(e: MeshPolicy['external'][string]): readonly Operation[] {
  return e.scrape ? [{ methods: ['GET'], paths: [e.scrape.path] }] : [];
}

/**
 * Every edge with what it allows, `caller -> callee: <methods> <paths>`, one
 * line per operation (methods and paths sorted; `* *` for an edge without
 * rules): the form a rendered AuthorizationPolicy is read back into, so a
 * test compares the two with one `toEqual`. With `external`, the public
 * workloads' world edge and the external callers that have a mesh identity
 * and no component of their own (those the always-on AuthorizationPolicies
 * name).
 */
export function policyOperations(policy: MeshPolicy, opts: { external?: boolean } = {}): string[] {
  const out: string[] = [];
  const add = (from: string, to: string, ops: readonly Operation[] | undefined) => {
    for (const o of ops ?? [{}]) out.push(operationLine(from, to, o));
  };
  for (const [caller, callees] of Object.entries(policy.calls))
    for (const c of callees) add(caller, c, edgeOperations(policy, caller, c));
  if (opts.external) {
    for (const [w, spec] of Object.entries(policy.workloads)) if (spec.public) add(WORLD, w, undefined);
    for (const [name, e] of Object.entries(policy.external)) {
      if (e.serviceAccount === undefined || e.component !== undefined) continue;
      for (const c of externalCallees(policy, name))
        add(externalName(name), c, edgeOperations(policy, name, c, true));
      if (e.scrape) for (const t of scrapeTargets(policy)) add(externalName(name), t, scrapeOperations(e));
    }
  }
  return [...new Set(out)].sort();
}

export function operationLine(caller: string, callee: string, o: Operation): string {
  const sorted = { methods: o.methods && [...o.methods].sort(), paths: o.paths && [...o.paths].sort() };
  return `${edge(caller, callee)}: ${describeOperations([sorted as Operation])}`;
}
