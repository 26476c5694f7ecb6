/**
 * kustomize overlays built into objects: what the k8s check (cli.ts,
 * api-server-check.ts) applies and what the tests under
 * tools/render/test/k8s validate. `selects` is Kubernetes' label-selector
 * match (matchLabels and matchExpressions).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
export const OVERLAYS_DIR = resolve(ROOT, 'k8s/overlays');

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML
export type Manifest = Record<string, any>;

export function overlayNames(): string[] {
  return readdirSync(OVERLAYS_DIR)
    .filter((d) => statSync(resolve(OVERLAYS_DIR, d)).isDirectory())
    .sort();
}

export function kustomizeBin(): string {
  return process.env.KUSTOMIZE ?? resolve(ROOT, '.tools/bin/kustomize');
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('; '));
      return d.toJS() as Manifest | null;
    })
    .filter((o): o is Manifest => o !== null);
}

const built = new Map<string, Manifest[]>();
/** `kustomize build <dir>` (cached per directory within a test file). */
export function build(dir: string): Manifest[] {
  const abs = resolve(ROOT, dir);
  let objs = built.get(abs);
  if (objs === undefined) {
    const out = execFileSync(kustomizeBin(), ['build', abs], {
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    objs = parseManifests(out);
    built.set(abs, objs);
  }
  return objs;
}

/** Whether `selector` (matchLabels, matchExpressions) selects an object with `labels`. */
export function selects(selector: Manifest | undefined, labels: Record<string, string>): boolean {
  const ml: Record<string, string> = selector?.matchLabels ?? {};
  const exprs: { key: string; operator: string; values?: string[] }[] = selector?.matchExpressions ?? [];
  return (
    Object.entries(ml).every(([k, v]) => labels[k] === v) &&
    exprs.every((e) =>
      e.operator === 'In'
        ? (e.values ?? []).includes(labels[e.key] as string)
        : e.operator === 'NotIn'
          ? !(e.values ?? []).includes(labels[e.key] as string)
          : e.operator === 'Exists'
            ? e.key in labels
            : !(e.key in labels),
    )
  );
}
