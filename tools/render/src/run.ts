/**
 * The one write/--check loop behind `npm run render`: each renderer's files
 * are compared with what is on disk, then written (write mode) or reported
 * stale (check mode). Renderers run in order, so a later one can read what
 * an earlier one wrote.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { RENDERERS, type Renderer } from './renderers.ts';

export interface RunResult {
  /** repo-relative paths that differ from a fresh render (written, or only reported under check). */
  stale: string[];
  /** Lines for the user: what was written, notes. */
  lines: string[];
}

function onDisk(root: string, rel: string): string | undefined {
  try {
    return readFileSync(resolve(root, rel), 'utf8');
  } catch {
    return undefined;
  }
}

/** repo-relative paths whose content on disk differs from `files`, or that should be gone. */
export function staleOf(
  root: string,
  files: Record<string, string>,
  remove: readonly string[] = [],
): string[] {
  const stale = Object.entries(files)
    .filter(([rel, content]) => onDisk(root, rel) !== content)
    .map(([rel]) => rel);
  return [...stale, ...remove];
}

export function runRenderers(
  root: string,
  o: { check: boolean; renderers?: readonly Renderer[] },
): RunResult {
  const result: RunResult = { stale: [], lines: [] };
  for (const r of o.renderers ?? RENDERERS) {
    const out = r.render(root);
    const stale = staleOf(root, out.files, out.remove);
    result.stale.push(...stale);
    if (o.check) continue;
    for (const note of out.notes ?? []) result.lines.push(`${r.name}: ${note}`);
    for (const rel of stale) {
      const abs = resolve(root, rel);
      if (rel in out.files) {
        mkdirSync(dirname(abs), { recursive: true });
        writeFileSync(abs, out.files[rel] as string);
        result.lines.push(`${r.name}: wrote ${rel}`);
      } else {
        rmSync(abs, { force: true });
        result.lines.push(`${r.name}: removed ${rel}`);
      }
    }
    if (stale.length === 0) result.lines.push(`${r.name}: ${Object.keys(out.files).length} files up to date`);
  }
  return result;
}
