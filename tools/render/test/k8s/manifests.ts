/**
 * Validate built kustomize overlays (src/k8s-check/manifests.ts, re-exported
 * here for the tests) against the schemas the
 * kubernetes-models packages generate from the real Kubernetes OpenAPI spec
 * and the real CRDs (Istio, Gateway API, Envoy Gateway, Prometheus operator).
 * An object whose apiVersion has no schema package fails: nothing passes
 * unvalidated.
 */
import type { Manifest } from '../../src/k8s-check/manifests.ts';

export {
  build,
  kustomizeBin,
  type Manifest,
  OVERLAYS_DIR,
  overlayNames,
  parseManifests,
  ROOT,
} from '../../src/k8s-check/manifests.ts';

/** Which kubernetes-models package holds the schema and the types of an API group (strict-fields.ts uses it too). */
export function modelsModule(apiVersion: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === '') return `kubernetes-models/${version}`;
  if (group === 'gateway.networking.k8s.io') return `@kubernetes-models/gateway-api/${group}/${version}`;
  if (group === 'gateway.envoyproxy.io') return `@kubernetes-models/envoy-gateway/${group}/${version}`;
  if (group === 'monitoring.coreos.com') return `@kubernetes-models/prometheus-operator/${group}/${version}`;
  if (group?.endsWith('.istio.io')) return `@kubernetes-models/istio/${group}/${version}`;
  if (group === 'cert-manager.io') return `@kubernetes-models/cert-manager/${group}/${version}`;
  if (group !== undefined && !group.includes('.')) return `kubernetes-models/${group}/${version}`;
  if (group?.endsWith('.k8s.io')) return `kubernetes-models/${group}/${version}`;
  return undefined;
}

/**
 * kustomize wraps long base64 Secret data over several lines; the API
 * server's decoder (Go's encoding/base64) skips \r and \n, the schema's
 * `byte` format does not, so compare what the API server would decode.
 */
function apiServerView(obj: Manifest): Manifest {
  if (obj.kind !== 'Secret' || obj.data === undefined) return obj;
  const data = Object.fromEntries(
    Object.entries(obj.data).map(([k, v]) => [k, String(v).replace(/[\r\n]/g, '')]),
  );
  return { ...obj, data };
}

type ModelClass = new (data: unknown) => { validate(): void };

/** Validates one object; returns the problems (empty when valid). */
export async function validateManifest(obj: Manifest): Promise<string[]> {
  const id = `${obj.kind}/${obj.metadata?.name} (${obj.apiVersion})`;
  const mod = typeof obj.apiVersion === 'string' ? modelsModule(obj.apiVersion) : undefined;
  if (mod === undefined) return [`${id}: no schema package for this apiVersion`];
  let cls: ModelClass | undefined;
  try {
    cls = (await import(mod))[obj.kind] as ModelClass | undefined;
  } catch (err) {
    return [`${id}: cannot load ${mod}: ${(err as Error).message}`];
  }
  if (typeof cls !== 'function') return [`${id}: ${mod} has no kind ${obj.kind}`];
  try {
    new cls(apiServerView(obj)).validate();
    return [];
  } catch (err) {
    const e = err as Error & { errors?: { instancePath: string; message?: string }[] };
    return (e.errors ?? [{ instancePath: '', message: e.message }]).map(
      (x) => `${id}${x.instancePath}: ${x.message}`,
    );
  }
}

export interface PodTemplateOwner {
  id: string;
  obj: Manifest;
  // biome-ignore lint/suspicious/noExplicitAny: pod spec from YAML
  pod: any;
  podLabels: Record<string, string>;
}

/** Every object that creates pods, with its pod template. */
export function podOwners(objs: readonly Manifest[]): PodTemplateOwner[] {
  const out: PodTemplateOwner[] = [];
  for (const o of objs) {
    const tpl = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'ReplicaSet'].includes(o.kind)
      ? o.spec?.template
      : o.kind === 'CronJob'
        ? o.spec?.jobTemplate?.spec?.template
        : o.kind === 'Pod'
          ? o
          : undefined;
    if (tpl === undefined) continue;
    out.push({
      id: `${o.kind}/${o.metadata?.name}`,
      obj: o,
      pod: tpl.spec,
      podLabels: tpl.metadata?.labels ?? {},
    });
  }
  return out;
}
