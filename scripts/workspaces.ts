/**
 * The npm workspaces, read from the root package.json and each workspace's
 * package.json: what a Node service's image carries (its workspace and the
 * workspaces it depends on, transitively) and the rules of the package
 * boundaries (tested in workspaces.test.ts).
 *
 * Plain Node, no dependencies: the Dockerfile's build stage runs it before
 * anything is installed:
 *
 *   node scripts/workspaces.ts image <service> <out-dir>
 *
 * copies the root package.json, the lockfile and every workspace's
 * package.json (npm ci checks the lockfile against all of them), the whole
 * workspace folder of the service and of each workspace it depends on (what
 * .dockerignore let into the build context), installs their production
 * dependencies and bundles the service's entry into <out-dir>/main.mjs
 * (local/src/bundle.ts, as `npm start` does; esbuild and the source-map
 * codec must be installed where that file resolves them: the Dockerfile
 * does so).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export interface PackageJson {
  name: string;
  exports?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  workspaces?: string[];
}

export interface Workspace {
  /** Package name, e.g. `@breakwater/catalog`. */
  name: string;
  /** Folder, repo-relative, e.g. `services/catalog`. */
  dir: string;
  pkg: PackageJson;
}

const readJson = (file: string): PackageJson => JSON.parse(readFileSync(file, 'utf8')) as PackageJson;

/** Every workspace the root package.json lists (`dir/*` globs expanded), in that order. */
export function listWorkspaces(root: string): Workspace[] {
  const patterns = readJson(join(root, 'package.json')).workspaces ?? [];
  const dirs = patterns.flatMap((p) => {
    if (!p.endsWith('/*')) return [p];
    const parent = p.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(root, parent, d.name, 'package.json')))
      .map((d) => `${parent}/${d.name}`)
      .sort();
  });
  return dirs.map((dir) => ({
    name: readJson(join(root, dir, 'package.json')).name,
    dir,
    pkg: readJson(join(root, dir, 'package.json')),
  }));
}

/** `name` and every workspace it depends on through `dependencies` (not devDependencies), transitively. */
export function runtimeClosure(all: readonly Workspace[], name: string): Workspace[] {
  const byName = new Map(all.map((w) => [w.name, w]));
  const seen = new Set<string>();
  const visit = (n: string) => {
    const w = byName.get(n);
    if (w === undefined || seen.has(n)) return;
    seen.add(n);
    for (const dep of Object.keys(w.pkg.dependencies ?? {})) visit(dep);
  };
  if (!byName.has(name)) throw new Error(`no workspace ${name}`);
  visit(name);
  return all.filter((w) => seen.has(w.name));
}

/** A Node service: a workspace with src/main.ts. `gateway` and `services/<name>` are named by their folder. */
export function serviceWorkspace(all: readonly Workspace[], service: string): Workspace {
  const w = all.find((x) => x.dir.split('/').pop() === service && x.name === `@breakwater/${service}`);
  if (w === undefined) throw new Error(`no workspace @breakwater/${service}`);
  return w;
}

export interface ImagePlan {
  /** The workspaces the image carries, whole (as the build context has them). */
  workspaces: Workspace[];
  /** package.json files copied only so that npm ci can check the lockfile. */
  manifests: string[];
  /** The service's entry, repo-relative (`<dir>/src/main.ts`). */
  entry: string;
}

export function imagePlan(root: string, service: string): ImagePlan {
  const all = listWorkspaces(root);
  const w = serviceWorkspace(all, service);
  const entry = `${w.dir}/src/main.ts`;
  if (!existsSync(join(root, entry)))
    throw new Error(`${service}: ${entry} does not exist (no Node service)`);
  return {
    workspaces: runtimeClosure(all, w.name),
    manifests: ['package.json', 'package-lock.json', ...all.map((x) => `${x.dir}/package.json`)],
    entry,
  };
}

/** Copies what `imagePlan` names from `root` to `out` and installs production dependencies there. */
export function buildImageTree(root: string, service: string, out: string): ImagePlan {
  const plan = imagePlan(root, service);
  for (const f of plan.manifests) {
    mkdirSync(dirname(join(out, f)), { recursive: true });
    cpSync(join(root, f), join(out, f));
  }
  for (const w of plan.workspaces) cpSync(join(root, w.dir), join(out, w.dir), { recursive: true });
  execFileSync(
    'npm',
    [
      'ci',
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      ...plan.workspaces.flatMap((w) => ['--workspace', w.name]),
    ],
    { cwd: out, stdio: 'inherit' },
  );
  // Bundled at its final paths, from the production tree: what the image runs.
  execFileSync(
    process.execPath,
    [join(root, 'local/src/bundle.ts'), out, join(out, 'main.mjs'), plan.entry],
    {
      stdio: 'inherit',
    },
  );
  return plan;
}

if (import.meta.main) {
  const [cmd, service, out] = process.argv.slice(2);
  if (cmd !== 'image' || !service || !out) {
    process.stderr.write('usage: node scripts/workspaces.ts image <service> <out-dir>\n');
    process.exit(2);
  }
  try {
    const plan = buildImageTree(resolve(import.meta.dirname, '..'), service, resolve(out));
    process.stdout.write(
      `${service}: ${plan.workspaces.map((w) => w.dir).join(', ')}; main.mjs: bundle of ${plan.entry}\n`,
    );
  } catch (err) {
    process.stderr.write(`workspaces: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
