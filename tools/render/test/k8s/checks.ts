/** Policy checks every built manifest must pass (used by overlays.test.ts); `selects` lives in src (the rollout check uses it). */
import { selects } from '../../src/k8s-check/manifests.ts';
import { type Manifest, podOwners } from './manifests.ts';

/** Long-running containers without a startup, liveness or readiness probe (Jobs run to completion: exempt). */
export function probeProblems(objs: readonly Manifest[]): string[] {
  const missing: string[] = [];
  for (const p of podOwners(objs)) {
    if (p.obj.kind === 'Job' || p.obj.kind === 'CronJob') continue;
    for (const c of p.pod.containers ?? [])
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        if (c[probe] === undefined) missing.push(`${p.id}/${c.name}: ${probe}`);
  }
  return missing;
}

// biome-ignore lint/suspicious/noExplicitAny: pod spec from YAML
export function hardeningProblems(pod: any, c: any): string[] {
  const sc = c.securityContext ?? {};
  const psc = pod.securityContext ?? {};
  const out: string[] = [];
  if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) out.push('runAsNonRoot is not true');
  if ((sc.runAsUser ?? psc.runAsUser) === 0) out.push('runs as uid 0');
  if (sc.readOnlyRootFilesystem !== true) out.push('readOnlyRootFilesystem is not true');
  if (sc.allowPrivilegeEscalation !== false) out.push('allowPrivilegeEscalation is not false');
  if (sc.privileged === true) out.push('privileged');
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push('capabilities.drop lacks ALL');
  if ((sc.capabilities?.add ?? []).length > 0) out.push(`adds capabilities ${sc.capabilities.add}`);
  return out;
}

export function isPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const last = image.split('/').pop() ?? '';
  const tag = last.includes(':') ? last.slice(last.indexOf(':') + 1) : '';
  return tag !== '' && tag !== 'latest' && /\d/.test(tag);
}

export function secretValues(s: Manifest): Record<string, string> {
  const out: Record<string, string> = { ...(s.stringData ?? {}) };
  for (const [k, v] of Object.entries(s.data ?? {}))
    out[k] = Buffer.from(String(v), 'base64').toString('utf8');
  return out;
}

/**
 * A value is clearly fake when it says so ("not-a-secret", any case), and carries no
 * credential shape a scanner would flag (cloud keys, private keys, tokens).
 */
export function isClearlyFake(v: string): boolean {
  const realShapes = [
    /AKIA[0-9A-Z]{16}/,
    /-----BEGIN [A-Z ]*PRIVATE KEY-----/,
    /\bgh[pousr]_[A-Za-z0-9]{36}\b/,
    /\bxox[abpr]-[A-Za-z0-9-]{10,}/,
    /\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\./,
  ];
  return v.toLowerCase().includes('not-a-secret') && !realShapes.some((r) => r.test(v));
}

export { selects };
