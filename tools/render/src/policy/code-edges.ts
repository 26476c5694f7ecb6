/**
 * The edges the code actually configures, found by reading the source:
 *
 * - `<NAME>_URL` environment variables a workload reads (CATALOG_URL → the
 *   `catalog` service, REDIS_URL → `redis`, DATABASE_URL → the workload's own
 *   `pg-<name>`);
 * - `createUpstream({ name: 'x' })` and `upstream('x')` calls with a literal name;
 * - for a workload whose upstreams live in a config file (the gateway's
 *   gateway.yaml), the keys of that file's `upstreams` (passed in).
 *
 * `<OWN_NAME>_ADMIN_URL` (a workload's CLI reaching its own admin endpoint)
 * is no edge. Comments are stripped first, so a doc comment mentioning CATALOG_URL is no
 * edge. A `*_URL` or upstream name that maps to no workload is reported, never
 * ignored: the test fails until the scanner or the policy learns about it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { MeshPolicy } from '@breakwater/mesh/policy/schema';

export interface CodeScan {
  /** callee → where the code refers to it (file:line). */
  callees: Map<string, string[]>;
  /** Names the scanner found but could not map to a workload. */
  unmapped: string[];
}

/** Removes // and /* *\/ comments, keeping line numbers and string contents. */
export function stripComments(src: string): string {
  let out = '';
  let i = 0;
  let quote: string | undefined;
  while (i < src.length) {
    const c = src[i] as string;
    const next = src[i + 1];
    if (quote !== undefined) {
      out += c;
      if (c === '\\') {
        out += next ?? '';
        i += 2;
        continue;
      }
      if (c === quote) quote = undefined;
      i++;
    } else if (c === '/' && next === '/') {
      while (i < src.length && src[i] !== '\n') i++;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else {
      if (c === '"' || c === "'" || c === '`') quote = c;
      out += c;
      i++;
    }
  }
  return out;
}

const ENV_URL = /\b([A-Z][A-Z0-9_]*)_URL\b/g;
const CREATE_UPSTREAM = /\bcreateUpstream\(\s*\{[^}]*?\bname:\s*['"`]([a-z][a-z0-9-]*)['"`]/g;
const UPSTREAM_CALL = /\bupstream\(\s*['"`]([a-z][a-z0-9-]*)['"`]/g;

/** Scans one file's text for the edges of `caller`. */
export function scanSource(
  policy: MeshPolicy,
  caller: string,
  text: string,
  file: string,
  into: CodeScan,
): void {
  const src = stripComments(text);
  const lineOf = (index: number) => src.slice(0, index).split('\n').length;
  const add = (callee: string, index: number) => {
    const at = `${file}:${lineOf(index)}`;
    into.callees.set(callee, [...(into.callees.get(callee) ?? []), at]);
  };
  for (const m of src.matchAll(ENV_URL)) {
    const prefix = m[1] as string;
    if (prefix === 'DATABASE') add(`pg-${caller}`, m.index);
    else if (prefix === `${caller.toUpperCase().replaceAll('-', '_')}_ADMIN`) {
      // the workload's own admin endpoint (its CLI talks to it): not an edge
    } else {
      const name = prefix.toLowerCase().replaceAll('_', '-');
      if (name in policy.workloads) add(name, m.index);
      else into.unmapped.push(`${file}:${lineOf(m.index)}: ${prefix}_URL`);
    }
  }
  for (const re of [CREATE_UPSTREAM, UPSTREAM_CALL])
    for (const m of src.matchAll(re)) {
      const name = m[1] as string;
      if (name in policy.workloads) add(name, m.index);
      else into.unmapped.push(`${file}:${lineOf(m.index)}: upstream "${name}"`);
    }
}

/** Source files of a workload: *.ts under `dir`, tests excluded. */
export function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) {
        if (e !== 'test' && e !== 'node_modules' && e !== '__fixtures__') walk(p);
      } else if (p.endsWith('.ts') && !p.endsWith('.test.ts') && !p.endsWith('.d.ts')) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** Scans a workload's source directory (plus config-file upstreams) into a CodeScan. */
export function scanWorkload(
  policy: MeshPolicy,
  caller: string,
  srcDir: string,
  root: string,
  configUpstreams: readonly string[] = [],
  configFile = '',
): CodeScan {
  const scan: CodeScan = { callees: new Map(), unmapped: [] };
  for (const f of sourceFiles(srcDir))
    scanSource(policy, caller, readFileSync(f, 'utf8'), relative(root, f), scan);
  for (const u of configUpstreams) {
    if (u in policy.workloads)
      scan.callees.set(u, [...(scan.callees.get(u) ?? []), `${configFile} upstreams.${u}`]);
    else scan.unmapped.push(`${configFile}: upstream "${u}"`);
  }
  return scan;
}
