/**
 * The bundle cache: every process entry of the platform (each workspace's
 * src/main.ts: the services and the gateway) bundled once by bundle.ts into
 * `node_modules/.cache/bw-bundles/<key>/<entry>.mjs`, so a start loads one
 * precompiled file per process instead of its whole module graph (README
 * "Benchmarks": ~55 % less CPU to load, a few MiB less RSS).
 *
 * The key is a hash of what a bundle is made of: the Node version, the
 * checkout's path (a bundle names its sources by absolute path), the
 * lockfile (node_modules), every workspace's package.json and runtime
 * source, and the bundler itself. An edit anywhere gives a new key, so the
 * next start rebuilds (~1–2 s for all entries); the source stays the truth.
 *
 * Filled by `node local/src/warm.ts` before a start (scripts/bw start, the
 * drill runner), with the strip cache. A start that finds no bundle for the
 * current key (a test's harness, an edit since the warm step) builds them
 * itself in a child process, so every start runs bundles.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { workspaceRuntimeSources } from './strip-cache.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Where bundles live (per checkout: node_modules is). */
export const BUNDLE_CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'bw-bundles');

/** Key directories kept: the newest few, so a platform still running an older bundle can restart its processes. */
const KEEP = 4;

const BUNDLER = ['bundle.ts', 'bundle-stack-traces.ts', 'bundle-cache.ts'].map((f) =>
  path.join(import.meta.dirname, f),
);

/** The process entries: every workspace's src/main.ts, repo-relative. */
export function bundleEntries(root = ROOT): string[] {
  return workspaceRuntimeSources(root)
    .filter((f) => path.basename(f) === 'main.ts' && path.basename(path.dirname(f)) === 'src')
    .map((f) => path.relative(root, f))
    .sort();
}

/** The cache key of the current sources, lockfile and Node version. */
export function bundleKey(root = ROOT): string {
  const hash = createHash('sha256').update(process.version).update('\0').update(root);
  const files = [
    path.join(root, 'package-lock.json'),
    ...BUNDLER,
    ...workspaceRuntimeSources(root),
    ...workspaceRuntimeSources(root).map((f) => f.replace(/\/src\/.*$/, '/package.json')),
  ];
  for (const f of [...new Set(files)].sort()) {
    hash.update('\0').update(f).update('\0');
    try {
      hash.update(readFileSync(f));
    } catch {
      hash.update('-'); // absent (a workspace without package.json)
    }
  }
  return hash.digest('base64url').slice(0, 32);
}

/** The bundle of `main` (repo-relative `…/src/main.ts`) under `key`. */
export function bundleFile(main: string, key: string, root = ROOT): string {
  return path.join(root, 'node_modules', '.cache', 'bw-bundles', key, main.replace(/\.ts$/, '.mjs'));
}

/** Builds every entry's bundle for the current key unless there; returns the key directory and whether it was built now. */
export async function warmBundles(root = ROOT): Promise<{ dir: string; built: boolean }> {
  const key = bundleKey(root);
  const cache = path.join(root, 'node_modules', '.cache', 'bw-bundles');
  const dir = path.join(cache, key);
  if (existsSync(dir)) return { dir, built: false };
  // Built aside and renamed (atomic), so a start never runs half a set.
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  // Loaded here only: the supervisor, which imports this file for bundleOf, never loads esbuild.
  const { bundleEntry } = await import('./bundle.ts');
  await Promise.all(
    bundleEntries(root).map((main) =>
      bundleEntry(path.join(root, main), path.join(tmp, main.replace(/\.ts$/, '.mjs'))),
    ),
  );
  mkdirSync(cache, { recursive: true });
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process built the same key first
  }
  prune(cache);
  return { dir, built: true };
}

function prune(cache: string): void {
  const dirs = readdirSync(cache, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.endsWith('.tmp'))
    .map((e) => path.join(cache, e.name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const d of dirs.slice(KEEP)) rmSync(d, { recursive: true, force: true });
}

/**
 * A start builds the specs of all its processes within a moment: one hash
 * serves them all (each takes ~15 ms on a quiet machine, far more under load,
 * in the supervisor's start). A spec built later (`scale`) hashes again, so
 * an edit made since is picked up; a restart reruns its process's bundle.
 */
const KEY_REUSE_MS = 2_000;
let recentKey: { root: string; key: string; at: number } | undefined;

function currentKey(root: string): string {
  const now = performance.now();
  if (recentKey?.root !== root || now - recentKey.at > KEY_REUSE_MS)
    recentKey = { root, key: bundleKey(root), at: now };
  return recentKey.key;
}

/**
 * The bundle to run for `main`, built first when the cache has none for the
 * current key (in a child process: the caller need not load esbuild).
 * Undefined when `main` is no entry or the build failed (a syntax error, say):
 * the caller then runs the source, whose error Node reports as it is.
 */
export function bundleOf(main: string, root = ROOT): string | undefined {
  // The cache is this checkout's (its node_modules); another root runs its sources.
  if (path.resolve(root) !== ROOT) return undefined;
  try {
    const file = bundleFile(main, currentKey(root), root);
    if (existsSync(file)) return file;
    execFileSync(process.execPath, [path.join(import.meta.dirname, 'warm.ts')], {
      cwd: root,
      stdio: 'ignore',
    });
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined; // not a checkout with workspaces, or the build failed
  }
}
