/**
 * What a rollout makes of an overlay, with kube-controller-manager running
 * (no nodes: pods are created, never scheduled). The Deployment, StatefulSet
 * and Job controllers create real Pod objects — through Pod Security
 * admission and the ServiceAccount admission — and the disruption and HPA
 * controllers report on what the PDBs and HPAs point at. Checked:
 *   - every Deployment, StatefulSet and Job gets a Pod (else the controller's
 *     FailedCreate message, e.g. a Pod Security violation);
 *   - every Pod is selected by a NetworkPolicy of its namespace;
 *   - every PodDisruptionBudget selects a Pod (its status.expectedPods);
 *   - every HPA reaches its target's scale subresource (condition AbleToScale).
 */

import { type KubectlTarget, kubectl, objectId, type Refusal } from './kubectl.ts';
import type { Manifest } from './manifests.ts';
import { selects } from './manifests.ts';

/** The controllers kube-controller-manager runs for this check. */
export const ROLLOUT_CONTROLLERS = [
  'deployment',
  'replicaset',
  'statefulset',
  'job',
  'garbagecollector',
  'disruption',
  'horizontalpodautoscaling',
  'serviceaccount',
] as const;

const OWNERS = new Set(['Deployment', 'StatefulSet', 'Job']);
const POLL_MS = 500;

async function list(
  target: KubectlTarget,
  resources: string,
  namespaces: readonly string[],
): Promise<Manifest[]> {
  const items: Manifest[] = [];
  for (const ns of namespaces) {
    const r = await kubectl(target, ['get', resources, '-n', ns, '-o', 'json']);
    if (r.code !== 0) throw new Error(`kubectl get ${resources} -n ${ns}: ${r.stderr.trim()}`);
    items.push(...(JSON.parse(r.stdout) as { items: Manifest[] }).items);
  }
  return items;
}

/** The namespaces `objs` live in. */
export function namespacesOf(objs: readonly Manifest[]): string[] {
  return [
    ...new Set(objs.map((o) => o.metadata?.namespace).filter((n): n is string => typeof n === 'string')),
  ];
}

const key = (o: Manifest) => `${o.kind} ${o.metadata?.namespace}/${o.metadata?.name}`;

/** The Deployment, StatefulSet or Job a Pod belongs to (through its ReplicaSet for a Deployment). */
function ownerOf(pod: Manifest, replicaSets: Map<string, Manifest>): string | undefined {
  const ref = (pod.metadata?.ownerReferences ?? []).find((r: Manifest) => r.controller);
  if (ref === undefined) return undefined;
  const ns = pod.metadata.namespace;
  if (ref.kind !== 'ReplicaSet') return `${ref.kind} ${ns}/${ref.name}`;
  const rs = replicaSets.get(`ReplicaSet ${ns}/${ref.name}`);
  const up = (rs?.metadata?.ownerReferences ?? []).find((r: Manifest) => r.controller);
  return up ? `${up.kind} ${ns}/${up.name}` : undefined;
}

interface Snapshot {
  pods: Manifest[];
  problems: Refusal[];
}

async function snapshot(
  target: KubectlTarget,
  objs: readonly Manifest[],
  namespaces: string[],
): Promise<Snapshot> {
  const [pods, replicaSets, policies, events] = await Promise.all([
    list(target, 'pods', namespaces),
    list(target, 'replicasets', namespaces),
    list(target, 'networkpolicies,poddisruptionbudgets,horizontalpodautoscalers', namespaces),
    list(target, 'events', namespaces),
  ]);
  const rsByKey = new Map(
    replicaSets.map((rs) => [`ReplicaSet ${rs.metadata.namespace}/${rs.metadata.name}`, rs]),
  );
  const owned = new Set(pods.map((p) => ownerOf(p, rsByKey)));
  const problems: Refusal[] = [];
  for (const o of objs.filter((x) => OWNERS.has(x.kind))) {
    if (owned.has(key(o))) continue;
    const failed = events
      .filter((e) => e.reason === 'FailedCreate')
      .filter((e) => {
        const on = `${e.involvedObject?.kind} ${e.involvedObject?.namespace}/${e.involvedObject?.name}`;
        return (
          on === key(o) || (o.kind === 'Deployment' && on.startsWith(`ReplicaSet ${key(o).split(' ')[1]}-`))
        );
      })
      // One line per distinct reason: each attempt names a new pod, and the
      // event recorder may prefix "(combined from similar events): ".
      .map((e) =>
        String(e.message)
          .replace(/^\(combined from similar events\): /, '')
          .replace(/pods "[^"]+" /, 'pods '),
      );
    problems.push({
      object: objectId(o),
      message: `no Pod${failed.length > 0 ? `: ${[...new Set(failed)].join('; ')}` : ''}`,
    });
  }
  const netpols = policies.filter((p) => p.kind === 'NetworkPolicy');
  for (const pod of pods) {
    const covered = netpols.some(
      (np) =>
        np.metadata.namespace === pod.metadata.namespace &&
        selects(np.spec?.podSelector, pod.metadata.labels ?? {}),
    );
    if (!covered) problems.push({ object: objectId(pod), message: 'selected by no NetworkPolicy' });
  }
  for (const pdb of policies.filter((p) => p.kind === 'PodDisruptionBudget')) {
    if (!((pdb.status?.expectedPods ?? 0) > 0))
      problems.push({ object: objectId(pdb), message: 'selects no Pod' });
  }
  for (const hpa of policies.filter((p) => p.kind === 'HorizontalPodAutoscaler')) {
    const able = (hpa.status?.conditions ?? []).find((c: Manifest) => c.type === 'AbleToScale');
    if (able?.status !== 'True') {
      const target = hpa.spec?.scaleTargetRef;
      problems.push({
        object: objectId(hpa),
        message: `cannot scale ${target?.kind}/${target?.name}${able ? `: ${able.message}` : ' (no AbleToScale condition yet)'}`,
      });
    }
  }
  return { pods, problems };
}

export interface RolloutResult {
  /** Pods the controllers created. */
  readonly pods: number;
  readonly problems: readonly Refusal[];
}

/**
 * Polls until what the controllers made satisfies every check above, or
 * `timeoutMs` passes; returns the problems of the last look.
 */
export async function checkRollout(
  target: KubectlTarget,
  objs: readonly Manifest[],
  timeoutMs = 90_000,
): Promise<RolloutResult> {
  const namespaces = namespacesOf(objs);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await snapshot(target, objs, namespaces);
    if (s.problems.length === 0 || Date.now() >= deadline)
      return { pods: s.pods.length, problems: s.problems };
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Waits until the garbage collector has removed every Pod and ReplicaSet of `namespaces`. */
export async function waitCollected(
  target: KubectlTarget,
  namespaces: readonly string[],
  timeoutMs = 90_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await list(target, 'pods,replicasets', namespaces);
    if (left.length === 0) return;
    if (Date.now() >= deadline)
      throw new Error(`still there after the overlay was deleted: ${left.map(objectId).join(', ')}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
