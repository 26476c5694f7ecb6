/**
 * mesh/policy.yaml: who may call whom. Validated once with unknown keys
 * refused and every error naming its field, then frozen. Rendered by
 * tools/render/src/policy into NetworkPolicies and Istio resources.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { UpstreamPolicySchema } from '../policy.ts';
import { compileOperations, type Operation, operationSchema } from './operations.ts';

const name = z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be kebab-case');
const port = z.int().min(1).max(65535);
const labels = z.record(z.string().min(1), z.string().min(1));

const workloadSchema = z.strictObject({
  /** service: Deployment + Service; worker: no inbound traffic but metrics; datastore: TCP (Redis, PostgreSQL). */
  kind: z.enum(['service', 'worker', 'datastore']),
  port,
  /** North-south entry: anyone may connect to `port` (mTLS PERMISSIVE on that port only). */
  public: z.boolean().default(false),
  /** Repo-relative YAML file whose `upstreams` hold this caller's edge policies (the gateway's gateway.yaml). */
  upstreamPolicies: z.string().min(1).optional(),
});

const externalSchema = z.strictObject({
  namespace: name,
  /** Istio identity; omit when the caller is not in the mesh (then it gets no AuthorizationPolicy rule). */
  serviceAccount: name.optional(),
  podLabels: labels,
  /** May GET `path` on every service and worker (Prometheus). */
  scrape: z.strictObject({ path: z.string().regex(/^\/\S*$/) }).optional(),
  /** Gets the callee list of this workload, e.g. Envoy Gateway's proxies standing in for the gateway. */
  standsInFor: name.optional(),
  calls: z.array(name).default([]),
  /** Render this caller's rules into k8s/components/<component> instead of the always-on set. */
  component: name.optional(),
});

/**
 * One callee of `calls`: its name (every request allowed), or
 * `{ <name>: [operation, …] }` — only requests one of the operations matches
 * (./operations.ts).
 */
const callee = z.union([
  name,
  z
    .record(name, z.array(operationSchema).min(1))
    .refine((r) => Object.keys(r).length === 1, 'one callee per entry: { <callee>: [operations] }'),
]);
type Callee = z.output<typeof callee>;
const calleeName = (c: Callee): string => (typeof c === 'string' ? c : (Object.keys(c)[0] as string));

const policySchema = z
  .strictObject({
    version: z.literal(1),
    namespace: name,
    trustDomain: z.string().min(1).default('cluster.local'),
    workloads: z.record(name, workloadSchema),
    calls: z.record(name, z.array(callee)),
    external: z.record(name, externalSchema).default({}),
    /** Call policy per HTTP edge, caller → upstream → UpstreamPolicy (mesh/src/policy.ts). */
    edgePolicies: z.record(name, z.record(name, UpstreamPolicySchema)).default({}),
  })
  .superRefine((p, ctx) => {
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    const known = (w: string) => w in p.workloads;
    for (const [caller, entries] of Object.entries(p.calls)) {
      const callees = entries.map(calleeName);
      if (!known(caller)) issue(['calls', caller], `unknown workload "${caller}"`);
      else if (p.workloads[caller]?.kind === 'datastore')
        issue(['calls', caller], 'a datastore calls nobody');
      callees.forEach((c, i) => {
        if (!known(c)) issue(['calls', caller, i], `unknown workload "${c}"`);
        else if (p.workloads[c]?.kind === 'worker')
          issue(['calls', caller, i], `"${c}" is a worker: nobody calls it`);
        if (c === caller) issue(['calls', caller, i], 'a workload does not call itself');
        if (callees.indexOf(c) !== i) issue(['calls', caller, i], `"${c}" listed twice`);
        if (typeof entries[i] !== 'string' && known(c) && p.workloads[c]?.kind !== 'service')
          issue(
            ['calls', caller, i, c],
            `"${c}" is a ${p.workloads[c]?.kind}: methods and paths are for HTTP services`,
          );
      });
    }
    for (const [ext, e] of Object.entries(p.external)) {
      if (ext in p.workloads) issue(['external', ext], 'an external caller cannot share a workload name');
      if (e.standsInFor !== undefined && !known(e.standsInFor))
        issue(['external', ext, 'standsInFor'], `unknown workload "${e.standsInFor}"`);
      e.calls.forEach((c, i) => {
        if (!known(c)) issue(['external', ext, 'calls', i], `unknown workload "${c}"`);
      });
    }
    for (const [caller, ups] of Object.entries(p.edgePolicies))
      for (const [up, u] of Object.entries(ups)) {
        const entry = (p.calls[caller] ?? []).find((c) => calleeName(c) === up);
        const rules = typeof entry === 'object' ? entry[up] : undefined;
        // The breaker's probe is a GET the caller sends itself; a refused probe (403 < 500) would pass as healthy.
        const probe = u.breaker.probe?.path.split('?')[0];
        if (rules && probe !== undefined && !compileOperations(rules)('GET', probe))
          issue(
            ['edgePolicies', caller, up, 'breaker', 'probe'],
            `the rules of ${caller} -> ${up} do not allow GET ${probe}`,
          );
        if (entry === undefined)
          issue(['edgePolicies', caller, up], `no such edge in calls: ${caller} -> ${up}`);
        else if (p.workloads[up]?.kind !== 'service')
          issue(['edgePolicies', caller, up], `"${up}" is not an HTTP service`);
        if (p.workloads[caller]?.upstreamPolicies !== undefined)
          issue(
            ['edgePolicies', caller],
            `${caller} takes its policies from ${p.workloads[caller]?.upstreamPolicies}`,
          );
      }
  })
  .transform(({ calls, ...rest }) => ({
    ...rest,
    /** caller → callee names (every edge, with or without rules). */
    calls: Object.fromEntries(Object.entries(calls).map(([c, es]) => [c, es.map(calleeName)])) as Record<
      string,
      string[]
    >,
    /** caller → callee → the operations allowed, for the edges that have rules (absent: every request). */
    callRules: Object.fromEntries(
      Object.entries(calls).map(([c, es]) => [
        c,
        Object.assign({}, ...es.filter((e) => typeof e !== 'string')) as Record<string, Operation[]>,
      ]),
    ) as Record<string, Record<string, Operation[]>>,
  }));

export type MeshPolicy = z.output<typeof policySchema>;
export type Workload = MeshPolicy['workloads'][string];
export type ExternalCaller = MeshPolicy['external'][string];
export type { UpstreamPolicy } from '../policy.ts';
export type { Operation } from './operations.ts';

export class PolicyError extends Error {
  readonly code = 'MESH_ERR_POLICY_INVALID';
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super(`mesh policy is invalid:\n  ${issues.join('\n  ')}`);
    this.name = 'PolicyError';
    this.issues = issues;
  }
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map(String).join('.');
}

/**
 * One issue in words, naming its field. A callee that is neither a name nor
 * `{ <name>: [operations] }` fails zod's union as a whole ("Invalid input");
 * the branch that got furthest into the value says what is actually wrong.
 */
function describeIssue(i: z.core.$ZodIssue, at: readonly PropertyKey[]): string[] {
  const path = [...at, ...i.path];
  if (i.code === 'invalid_union' && i.errors.length > 0) {
    const depth = (branch: z.core.$ZodIssue[]) => Math.max(...branch.map((b) => b.path.length));
    const furthest = i.errors.reduce((a, b) => (depth(b) > depth(a) ? b : a));
    if (depth(furthest) > 0) return furthest.flatMap((b) => describeIssue(b, path));
  }
  const keys = i.code === 'unrecognized_keys' ? ` (${i.keys.join(', ')})` : '';
  return [`${fieldPath(path)}: ${i.message}${keys}`];
}

export function validatePolicy(doc: unknown): MeshPolicy {
  const r = policySchema.safeParse(doc);
  if (!r.success) {
    throw new PolicyError(r.error.issues.flatMap((i) => describeIssue(i, [])));
  }
  return deepFreeze(r.data);
}

export function parsePolicy(text: string): MeshPolicy {
  return validatePolicy(parseYaml(text, { uniqueKeys: true }));
}

export const POLICY_FILE = new URL('../../policy.yaml', import.meta.url);

export function loadPolicy(file: URL | string = POLICY_FILE): MeshPolicy {
  return parsePolicy(readFileSync(file, 'utf8'));
}

/** Istio principal of a ServiceAccount: no `spiffe://` prefix (only the certificate's SAN carries it). */
export function principal(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
