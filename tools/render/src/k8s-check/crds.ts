/**
 * The CRDs the overlays use, from the projects' own published files: each
 * project's Go module, at the version pinned in tools/crds/go.mod (checked
 * against tools/crds/go.sum), downloaded through the Go module proxy into
 * Go's module cache. Nothing here is copied into the repository.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './manifests.ts';

interface CrdSource {
  /** The Go module (its version is in tools/crds/go.mod). */
  readonly module: string;
  /** Files or folders (every *.yaml in them) inside the module. */
  readonly paths: readonly string[];
}

export const CRD_SOURCES: readonly CrdSource[] = [
  { module: 'istio.io/api', paths: ['kubernetes/customresourcedefinitions.gen.yaml'] },
  // The standard channel: what a cluster without experimental Gateway API features serves.
  { module: 'sigs.k8s.io/gateway-api', paths: ['config/crd/standard'] },
  // The Envoy Gateway Helm chart's crds/ folder, which `helm install eg` applies as is.
  { module: 'github.com/envoyproxy/gateway', paths: ['charts/gateway-helm/crds/generated'] },
  {
    module: 'github.com/prometheus-operator/prometheus-operator',
    paths: ['example/prometheus-operator-crd'],
  },
  // cert-manager's plain CRDs (what its Helm chart installs with crds.enabled=true): the
  // cluster-issuer identity's ClusterIssuers and Certificates (k8s/components/identity-cluster-issuer).
  { module: 'github.com/cert-manager/cert-manager', paths: ['deploy/crds'] },
];

export const CRDS_MODULE_DIR = resolve(ROOT, 'tools/crds');

interface Download {
  Path: string;
  Version: string;
  Dir?: string;
  Error?: string;
}

/** `go mod download -json` prints one JSON object after another. */
function parseDownloads(out: string): Download[] {
  return out
    .split(/\n(?=\{)/)
    .filter((s) => s.trim() !== '')
    .map((s) => JSON.parse(s) as Download);
}

export interface CrdFile {
  /** module@version/path, for messages. */
  readonly source: string;
  readonly file: string;
}

/** Downloads (or finds in the module cache) every CRD source; returns the YAML files to apply. */
export async function crdFiles(): Promise<CrdFile[]> {
  let out: string;
  try {
    ({ stdout: out } = await promisify(execFile)(
      'go',
      ['mod', 'download', '-json', ...CRD_SOURCES.map((s) => s.module)],
      { cwd: CRDS_MODULE_DIR, maxBuffer: 16 * 1024 * 1024 },
    ));
  } catch (err) {
    const e = err as Error & { stdout?: string; stderr?: string };
    throw new Error(
      `go mod download in tools/crds failed (Go is needed to fetch the CRDs): ${e.stderr || e.stdout || e.message}`,
    );
  }
  const downloads = new Map(parseDownloads(out).map((d) => [d.Path, d]));
  const files: CrdFile[] = [];
  for (const source of CRD_SOURCES) {
    const d = downloads.get(source.module);
    if (d?.Dir === undefined) throw new Error(`${source.module}: ${d?.Error ?? 'not downloaded'}`);
    for (const p of source.paths) {
      const abs = join(d.Dir, p);
      const names = p.endsWith('.yaml')
        ? [abs]
        : readdirSync(abs)
            .filter((f) => f.endsWith('.yaml'))
            .sort()
            .map((f) => join(abs, f));
      for (const file of names)
        files.push({ source: `${d.Path}@${d.Version}/${file.slice(d.Dir.length + 1)}`, file });
    }
  }
  return files;
}
