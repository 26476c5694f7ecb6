/**
 * The instances a drill declares (`DrillSpec.replicas`): a live run is
 * scaled to exactly them through the supervisor's control API before the
 * drill ("one of two orders instances" means two; a scale-down drains), and
 * the k6 script learns each service's instance names in order.
 */
import { controlCall } from '../control-client.ts';
import type { ProcessStatus } from '../managed-process.ts';
import { instanceIndex, REPLICABLE_SERVICES } from '../replicas.ts';
import type { RunState } from '../state.ts';

/** Each replicable service's instances, by index (`catalog`, or catalog-1, catalog-2, …). */
export function instancesByService(processes: readonly ProcessStatus[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const service of REPLICABLE_SERVICES) {
    const names = processes
      .map((p) => ({ name: p.name, index: instanceIndex(service, p.name) }))
      .filter((x): x is { name: string; index: number } => x.index !== undefined)
      .sort((a, b) => a.index - b.index)
      .map((x) => x.name);
    if (names.length) out[service] = names;
  }
  return out;
}

/** Scales every service to its wanted count; returns what changed (`catalog 1 → 3`). */
export async function ensureReplicas(
  state: RunState,
  wanted: Readonly<Record<string, number>>,
): Promise<string[]> {
  const changed: string[] = [];
  for (const [service, n] of Object.entries(wanted)) {
    const { processes } = (await controlCall(state, 'GET', '/v1/status')) as { processes: ProcessStatus[] };
    const have = instancesByService(processes)[service]?.length ?? 0;
    if (have === n) continue;
    try {
      await controlCall(state, 'POST', `/v1/services/${encodeURIComponent(service)}/scale`, { replicas: n });
    } catch (err) {
      throw new Error(
        `the drill needs ${n} ${service} instances and the run has ${have}: ${(err as Error).message}`,
      );
    }
    changed.push(`${service} ${have} → ${n}`);
  }
  return changed;
}
