/**
 * The bundle cache: every process entry of the platform (each workspace's
 * src/main.ts: the services and the gateway; the supervisor's local/src/cli.ts
 * and drill/platform-up.ts) bundled once by bundle.ts into
 * `node_modules/.cache/bw-bundles/<key>/<entry>.mjs`, so a start loads one
 * precompiled file per process instead of its whole module graph (README
 * "Benchmarks": ~55 % less CPU to load, a few MiB less RSS).
 *
 * The key is a hash of what the bundles are made of (bundleKey): the Node
 * version, the checkout's path, the lockfile, the package.json files, the
 * bundler, and every file outside node_modules that went into a bundle
 * (sources, imported JSON). An edit to any gives a new key, so the next start
 * rebuilds (a few seconds for all entries); the source stays the truth.
 *
 * Filled by `node local/src/warm.ts` before a start (scripts/bw start, the
 * drill runner), with the strip cache. A start that finds no bundle for the
 * current key (a test's harness, an edit since the warm step) builds them
 * itself in a child process, so every start runs bundles.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, type Hash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { workspaceRuntimeSources } from './strip-cache.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Where bundles live (per checkout: node_modules is). */
export const BUNDLE_CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'bw-bundles');

/** Key directories kept: the newest few, so a platform still running an older bundle can restart its processes. */
const KEEP = 4;

/** The supervisor's entries: `npm start` (`local up`) and the drill runner's platform. */
const SUPERVISOR_ENTRIES = ['local/src/cli.ts', 'local/src/drill/platform-up.ts'];

/** The process entries, repo-relative: every workspace's src/main.ts (services, gateway) and the supervisor's. */
export function bundleEntries(root = ROOT): string[] {
  const sources = workspaceRuntimeSources(root).map((f) => path.relative(root, f));
  return sources.filter((f) => /(^|\/)src\/main\.ts$/.test(f) || SUPERVISOR_ENTRIES.includes(f)).sort();
}

const cacheDir = (root: string) => path.join(root, 'node_modules', '.cache', 'bw-bundles');

function hashFiles(hash: Hash, files: readonly string[]): Hash {
  for (const f of files) {
    hash.update('\0').update(f).update('\0');
    try {
      hash.update(readFileSync(f));
    } catch {
      hash.update('-'); // absent: a removed source (the key changes), a workspace without package.json
    }
  }
  return hash;
}

/**
 * What decides how sources resolve and compile, before any source: the Node
 * version, the checkout's path (a bundle names its sources by absolute path),
 * the lockfile (node_modules), the package.json files (exports), the entries
 * and the bundler.
 */
function baseKey(root: string): string {
  const packages = new Set([path.join(root, 'package.json')]);
  for (const f of workspaceRuntimeSources(root)) packages.add(f.replace(/\/src\/.*$/, '/package.json'));
  const hash = createHash('sha256').update(process.version).update('\0').update(root);
  hash.update('\0').update(bundleEntries(root).join('\0'));
  hashFiles(hash, [
    path.join(root, 'package-lock.json'),
    ...[...packages].sort(),
    ...['bundle.ts', 'bundle-stack-traces.ts'].map((f) => path.join(import.meta.dirname, f)),
  ]);
  return hash.digest('base64url').slice(0, 16);
}

/** The files the last build under `base` was made of (its inputs outside node_modules), if any. */
const inputsFile = (root: string, base: string) => path.join(cacheDir(root), `${base}.inputs.json`);

function keyOf(base: string, inputs: readonly string[]): string {
  // '.' between: base64url has '-' and '_' but no '.'.
  return `${base}.${hashFiles(createHash('sha256'), inputs).digest('base64url').slice(0, 16)}`;
}

/**
 * The cache key of the current sources, or undefined when no build under
 * the current lockfile, package.json files and Node version recorded its
 * inputs yet. The key hashes exactly the files the bundles were made of
 * (esbuild's metafile): an edit to one of them gives a new key, and the
 * set itself can only change through an edit to one of them (an import) or
 * to a package.json or the lockfile (the base).
 */
export function bundleKey(root = ROOT): string | undefined {
  const base = baseKey(root);
  let inputs: string[];
  try {
    inputs = JSON.parse(readFileSync(inputsFile(root, base), 'utf8')) as string[];
  } catch {
    return undefined;
  }
  return keyOf(base, inputs);
}

/** The bundle of `main` (repo-relative `…/src/main.ts`) under `key`. */
export function bundleFile(main: string, key: string, root = ROOT): string {
  return path.join(cacheDir(root), key, main.replace(/\.ts$/, '.mjs'));
}

/** Builds every entry's bundle unless the current key has them; returns the key directory and whether it was built now. */
export async function warmBundles(root = ROOT): Promise<{ dir: string; built: boolean }> {
  const cache = cacheDir(root);
  const current = bundleKey(root);
  if (current !== undefined && existsSync(path.join(cache, current)))
    return { dir: path.join(cache, current), built: false };
  // Built aside and renamed (atomic), so a start never runs half a set.
  mkdirSync(cache, { recursive: true });
  const tmp = path.join(cache, `build.${process.pid}.tmp`);
  rmSync(tmp, { recursive: true, force: true });
  // Loaded here only, and by a computed URL (a bundle does not inline it): the supervisor,
  // which imports this file for bundleOf, never loads esbuild.
  const bundler = pathToFileURL(path.join(import.meta.dirname, 'bundle.ts')).href;
  const { bundleEntry } = (await import(bundler)) as typeof import('./bundle.ts');
  let inputs: string[][];
  try {
    inputs = await Promise.all(
      bundleEntries(root).map((main) =>
        bundleEntry(path.join(root, main), path.join(tmp, main.replace(/\.ts$/, '.mjs'))),
      ),
    );
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  const files = [...new Set(inputs.flat())].sort();
  const base = baseKey(root);
  const dir = path.join(cache, keyOf(base, files));
  try {
    renameSync(tmp, dir);
  } catch {
    rmSync(tmp, { recursive: true, force: true }); // another process built the same key first
  }
  const list = `${inputsFile(root, base)}.${process.pid}.tmp`;
  writeFileSync(list, JSON.stringify(files));
  renameSync(list, inputsFile(root, base));
  prune(cache);
  return { dir, built: true };
}

function prune(cache: string): void {
  const dirs = readdirSync(cache, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.endsWith('.tmp'))
    .map((e) => e.name)
    .sort((a, b) => statSync(path.join(cache, b)).mtimeMs - statSync(path.join(cache, a)).mtimeMs);
  for (const d of dirs.slice(KEEP)) rmSync(path.join(cache, d), { recursive: true, force: true });
  // An inputs list whose base no kept directory has belongs to a lockfile or Node gone since.
  const bases = new Set(dirs.slice(0, KEEP).map((d) => d.split('.')[0]));
  for (const f of readdirSync(cache))
    if (f.endsWith('.inputs.json') && !bases.has(f.slice(0, -'.inputs.json'.length)))
      rmSync(path.join(cache, f), { force: true });
}

/**
 * The key this process runs bundles under: hashed once (it reads every
 * source: ~15 ms on a quiet machine, far more under load) for all the specs
 * of a start, and again whenever prepareBundles runs — before each new
 * instance (`scale`, `rollout`), so an edit made since is picked up; a
 * restart reruns its process's bundle.
 */
let knownKey: { root: string; key: string | undefined } | undefined;

function currentKey(root: string): string | undefined {
  if (knownKey?.root !== root) knownKey = { root, key: bundleKey(root) };
  return knownKey.key;
}

function cachedBundle(main: string, root: string): string | undefined {
  const key = currentKey(root);
  return key !== undefined && existsSync(bundleFile(main, key, root))
    ? bundleFile(main, key, root)
    : undefined;
}

const WARM = path.join(import.meta.dirname, 'warm.ts');

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
    const cached = cachedBundle(main, root);
    if (cached !== undefined) return cached;
    execFileSync(process.execPath, [WARM], { cwd: root, stdio: 'ignore' });
    knownKey = undefined;
    return cachedBundle(main, root);
  } catch {
    return undefined; // not a checkout with workspaces, or the build failed
  }
}

/**
 * Builds the bundles of the current key when missing, without blocking the
 * caller's event loop: for a running supervisor (`scale`, `rollout`), whose
 * control API must keep answering while an edited checkout is rebuilt.
 * bundleOf then finds them. A failed build is bundleOf's to report.
 */
export async function prepareBundles(root = ROOT): Promise<void> {
  if (path.resolve(root) !== ROOT) return;
  knownKey = undefined; // sources may have been edited since the key was taken
  try {
    if (bundleEntries(root).every((main) => cachedBundle(main, root) !== undefined)) return;
    await new Promise<void>((resolve) =>
      execFile(process.execPath, [WARM], { cwd: root }, () => {
        knownKey = undefined;
        resolve();
      }),
    );
  } catch {
    // bundleOf tries again and falls back to the source
  }
}
