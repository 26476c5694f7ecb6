/**
 * kubectl (built from the same k8s.io/kubernetes module as the API server)
 * driving server-side apply, the command the README tells users to run.
 * kubectl rather than a client library: the check then is exactly
 * `kubectl apply --server-side`, discovery and all.
 *
 * One kubectl call applies a whole batch; kubectl keeps going past a refused
 * object and lists the accepted ones (`-o name`). Only when some are missing
 * is each of those applied alone, so that every refusal carries the server's
 * own message for that one object.
 */
import { spawn } from 'node:child_process';
import type { Manifest } from './manifests.ts';

export interface KubectlTarget {
  /** kubectl's path. */
  readonly kubectl: string;
  readonly kubeconfig: string;
  /** Its discovery cache (a fresh folder per API server). */
  readonly cacheDir: string;
}

export interface Refusal {
  /** `Kind namespace/name`. */
  readonly object: string;
  /** What the server (or kubectl) said. */
  readonly message: string;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function kubectl(target: KubectlTarget, args: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      target.kubectl,
      [`--kubeconfig=${target.kubeconfig}`, `--cache-dir=${target.cacheDir}`, ...args],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** `Kind namespace/name` (cluster-scoped: `Kind name`). */
export function objectId(o: Manifest): string {
  const ns = o.metadata?.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ''}${o.metadata?.name}`;
}

/** How `kubectl -o name` prints an object: `kind.group/name`, lower-case kind, no namespace. */
function printedName(o: Manifest): string {
  const apiVersion = String(o.apiVersion);
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  return `${String(o.kind).toLowerCase()}${group ? `.${group}` : ''}/${o.metadata?.name}`;
}

/**
 * A YAML stream of JSON documents: JSON quotes every string, where a YAML 1.2
 * writer leaves `yes` bare and kubectl's YAML 1.1 reader makes it `true`.
 */
function toYaml(objs: readonly Manifest[]): string {
  return objs.map((o) => JSON.stringify(o)).join('\n---\n');
}

/** kubectl's message without the wrapping that names stdin instead of the object. */
function cleanMessage(stderr: string): string {
  return stderr
    .trim()
    .replace(
      /error when (?:serverside-apply|creating|patching|retrieving current configuration of)[^:]*"STDIN":\s*/g,
      '',
    )
    .replace(/\s+/g, ' ');
}

export interface ApplyOptions {
  /** `--dry-run=server`: admission, defaulting and validation run, nothing is stored. */
  readonly dryRun: boolean;
  /** Field manager; default breakwater-check. */
  readonly fieldManager?: string;
}

/**
 * `kubectl apply --server-side` of `objs`; returns what the server refused
 * (empty when it accepted everything).
 */
export async function serverSideApply(
  target: KubectlTarget,
  objs: readonly Manifest[],
  options: ApplyOptions,
): Promise<Refusal[]> {
  if (objs.length === 0) return [];
  const args = [
    'apply',
    '--server-side',
    '--force-conflicts',
    `--field-manager=${options.fieldManager ?? 'breakwater-check'}`,
    ...(options.dryRun ? ['--dry-run=server'] : []),
    '-o',
    'name',
    '-f',
    '-',
  ];
  const batch = await kubectl(target, args, toYaml(objs));
  if (batch.code === 0) return [];
  const printed = new Map<string, number>();
  for (const line of batch.stdout.split('\n')) {
    const name = line.trim();
    if (name) printed.set(name, (printed.get(name) ?? 0) + 1);
  }
  const expected = new Map<string, number>();
  for (const o of objs) expected.set(printedName(o), (expected.get(printedName(o)) ?? 0) + 1);
  // Printed names carry no namespace: when fewer came back than went in, every
  // object of that name is retried alone.
  const suspects = objs.filter(
    (o) => (printed.get(printedName(o)) ?? 0) < (expected.get(printedName(o)) ?? 0),
  );
  if (suspects.length === 0) {
    return [{ object: '(kubectl)', message: cleanMessage(batch.stderr) || `exit code ${batch.code}` }];
  }
  const refusals: Refusal[] = [];
  for (const o of suspects) {
    const alone = await kubectl(target, args, toYaml([o]));
    if (alone.code !== 0) refusals.push({ object: objectId(o), message: cleanMessage(alone.stderr) });
  }
  return refusals;
}

/**
 * Deletes `objs` (a missing one is fine). Without controllers nothing holds a
 * finalizer, so the API server removes each object before it answers and
 * kubectl's wait (which polls object by object, seconds per overlay) is skipped.
 */
export async function deleteObjects(target: KubectlTarget, objs: readonly Manifest[]): Promise<void> {
  if (objs.length === 0) return;
  const result = await kubectl(
    target,
    ['delete', '--ignore-not-found', '--wait=false', '-f', '-'],
    toYaml(objs),
  );
  if (result.code !== 0) throw new Error(`kubectl delete failed: ${cleanMessage(result.stderr)}`);
}
