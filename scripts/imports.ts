/**
 * The package-boundary rule of ARCHITECTURE.md ("a workspace imports another
 * only through its package entry points"), as a check over source text:
 *
 * - a relative import must stay inside the workspace of the importing file
 *   (files outside every workspace — scripts/, k6/, the root — form one more);
 * - `@breakwater/x/<path>` must name an entry of x's package.json `exports`;
 * - a workspace that imports `@breakwater/x` declares it: in `dependencies`
 *   when the importing file is runtime code (under src/, not a test), else in
 *   `dependencies` or `devDependencies` (the image carries only `dependencies`).
 *
 * Used by workspaces.test.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import type { Workspace } from './workspaces.ts';

/** `import … from 'x'`, `export … from 'x'`, `import 'x'` at the start of a line, and `import('x')`. */
const STATIC = /^(?:import|export)\s+(?:type\s+)?(?:[\w*{}\s,$]+?\s+from\s+)?['"]([^'"]+)['"]/gm;
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

export function importSpecifiers(source: string): string[] {
  return [...source.matchAll(STATIC), ...source.matchAll(DYNAMIC)].map((m) => m[1] as string);
}

/** Every .ts file under `root`, repo-relative, without node_modules, tool folders and generated files. */
export function typeScriptFiles(root: string): string[] {
  const skip = new Set(['node_modules', '.git', '.tools', '.run', 'reports', 'generated']);
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      const rel = dir === '' ? e.name : `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (!skip.has(e.name)) walk(rel);
      } else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(rel);
    }
  };
  walk('');
  return out.sort();
}

/** The workspace holding repo-relative `file`, or undefined for files outside every workspace. */
export function ownerOf(workspaces: readonly Workspace[], file: string): Workspace | undefined {
  return workspaces
    .filter((w) => file.startsWith(`${w.dir}/`))
    .sort((a, b) => b.dir.length - a.dir.length)[0];
}

/** Does `exports` (a package.json field) have an entry for `subpath` (`.` or `./x`)? */
export function exportsEntry(exports: Record<string, string> | undefined, subpath: string): boolean {
  if (exports === undefined) return subpath === '.';
  if (subpath in exports) return true;
  return Object.keys(exports).some((key) => {
    const star = key.indexOf('*');
    return star !== -1 && subpath.startsWith(key.slice(0, star)) && subpath.endsWith(key.slice(star + 1));
  });
}

const isRuntime = (file: string) => /(^|\/)src\//.test(file) && !file.endsWith('.test.ts');

/** The problem with `spec` imported from repo-relative `file`, or undefined when it keeps the rules. */
export function importProblem(
  workspaces: readonly Workspace[],
  file: string,
  spec: string,
): string | undefined {
  const from = ownerOf(workspaces, file);
  if (spec.startsWith('.')) {
    const target = relative('.', join(dirname(file), spec));
    if (target.startsWith('..')) return `${file}: '${spec}' leaves the repository`;
    const to = ownerOf(workspaces, target);
    if (to?.name !== from?.name)
      return `${file}: '${spec}' reaches into ${to?.dir ?? 'the repository root'} by path; import ${to ? `${to.name} (its package entry points)` : 'nothing outside a workspace'} instead`;
    return undefined;
  }
  const m = /^(@breakwater\/[^/]+)(\/.*)?$/.exec(spec);
  if (!m) return undefined;
  const name = m[1] as string;
  const subpath = m[2] === undefined ? '.' : `.${m[2]}`;
  const target = workspaces.find((w) => w.name === name);
  if (target === undefined) return `${file}: '${spec}': no workspace ${name}`;
  if (!exportsEntry(target.pkg.exports, subpath))
    return `${file}: '${spec}': ${name} exports no '${subpath}' (package.json "exports": ${Object.keys(target.pkg.exports ?? {}).join(', ')})`;
  if (from === undefined || from.name === name) return undefined;
  const deps = from.pkg.dependencies ?? {};
  const devDeps = from.pkg.devDependencies ?? {};
  if (isRuntime(file) && !(name in deps))
    return `${file}: imports ${name}, which ${from.dir}/package.json does not list in "dependencies"`;
  if (!(name in deps) && !(name in devDeps))
    return `${file}: imports ${name}, which ${from.dir}/package.json lists in neither "dependencies" nor "devDependencies"`;
  return undefined;
}

/** Every boundary problem in the repository at `root`. */
export function importProblems(root: string, workspaces: readonly Workspace[]): string[] {
  return typeScriptFiles(root).flatMap((file) =>
    importSpecifiers(readFileSync(resolve(root, file), 'utf8'))
      .map((spec) => importProblem(workspaces, file, spec))
      .filter((p): p is string => p !== undefined),
  );
}
