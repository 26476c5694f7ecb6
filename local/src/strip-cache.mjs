/**
 * Type stripping without the stripper: a module hook that hands Node the
 * JavaScript it would get from stripping a `.ts` file, from a cache filled
 * once, so the platform's long-lived Node processes never load Node's
 * TypeScript stripper (amaro, an swc build in WebAssembly).
 *
 * Why: the stripper, once loaded, stays in the process — measured on Node
 * 24.21, a process that imported one `.ts` file takes ~18 MiB more RSS and
 * ~14 MiB more PSS than the same code in a `.js` file. The platform runs 8+
 * Node processes, so that is over 100 MiB of `npm start`'s footprint
 * (issue 16) spent on a build step.
 *
 * The source stays the truth and every process runs the same code tests
 * run: the cache holds exactly what `module.stripTypeScriptTypes` (the same
 * stripper Node uses for `.ts` files) returns, keyed by a hash of the Node
 * version and the file's content, so an edited file misses and is stripped
 * again. Stripping replaces types with blanks, so every line and column — and
 * every stack trace — stays that of the `.ts` file, and the module keeps its
 * own URL (import.meta, relative imports).
 *
 * Use: `node --import ./local/src/strip-cache-register.mjs main.ts`
 * (local/src/node-flags.ts gives the flags); `node local/src/warm.ts` strips every runtime source of the
 * workspaces into the cache ahead of a start (scripts/bw start does), so no
 * process of the platform meets a miss. A miss is still correct, only
 * heavier: that process strips the file itself, loading the stripper.
 *
 * Plain JavaScript on purpose: a `.ts` hook would load the stripper itself.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
/** Where stripped files live (per worktree: node_modules is). */
export const STRIP_CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'bw-stripped');

/** The module formats of a `.ts` file (as Node's resolver names them) and what the stripped code is. */
const STRIPPED_FORMAT = { 'module-typescript': 'module', 'commonjs-typescript': 'commonjs' };

function cacheFile(source) {
  const key = createHash('sha256').update(process.version).update('\0').update(source).digest('base64url');
  return path.join(STRIP_CACHE_DIR, `${key.slice(0, 32)}.js`);
}

/**
 * Runs `fn` without process warnings: stripTypeScriptTypes warns that it is
 * experimental, which would land in a service's log on its first miss; the
 * stripping it does is the one Node does for every `.ts` file without a word.
 */
function quietly(fn) {
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return fn();
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** The stripped code of `source` (from the cache, else stripped now and cached) and whether it was a hit. */
export function strippedOf(source) {
  const file = cacheFile(source);
  try {
    return { code: readFileSync(file, 'utf8'), hit: true };
  } catch {
    const code = quietly(() => stripTypeScriptTypes(source, { mode: 'strip' }));
    try {
      mkdirSync(STRIP_CACHE_DIR, { recursive: true });
      // Several processes start at once: write aside, then rename (atomic), so none reads half a file.
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, file);
    } catch {
      // A read-only tree: run without the cache.
    }
    return { code, hit: false };
  }
}

/** Node refuses to strip files under node_modules; those keep Node's own path (and its error). */
function isOwnTypeScript(url) {
  return url.startsWith('file:') && !url.includes('/node_modules/');
}

/** Registers the hook in this process (what `--import` of this file does). */
export function registerStripCache() {
  registerHooks({
    load(url, context, nextLoad) {
      // Node's own load reads the file and names its format; stripping comes later, when
      // the module is translated — which a plain `module` format skips.
      const loaded = nextLoad(url, context);
      const format = STRIPPED_FORMAT[loaded.format];
      if (format === undefined || !isOwnTypeScript(url)) return loaded;
      return { ...loaded, format, source: strippedOf(String(loaded.source)).code };
    },
  });
}

/** The runtime sources: every `.ts` under each workspace's src/, tests and hidden folders excepted. */
function runtimeSources(dir, out = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      // Hidden folders are no sources (tests write temporary files into .name folders under src/).
      if (entry.name !== 'node_modules' && entry.name !== 'test' && !entry.name.startsWith('.'))
        runtimeSources(full, out);
    } else if (
      entry.name.endsWith('.ts') &&
      !entry.name.endsWith('.test.ts') &&
      !entry.name.endsWith('.d.ts')
    )
      out.push(full);
  }
  return out;
}

/** Every runtime source (absolute path) of every workspace the root package.json lists. */
export function workspaceRuntimeSources(root = ROOT) {
  const { workspaces = [] } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  const dirs = [];
  for (const ws of workspaces) {
    if (ws.endsWith('/*')) {
      const parent = path.join(root, ws.slice(0, -2));
      for (const e of readdirSync(parent, { withFileTypes: true }))
        if (e.isDirectory()) dirs.push(path.join(parent, e.name, 'src'));
    } else dirs.push(path.join(root, ws, 'src'));
  }
  const files = [];
  for (const dir of dirs) {
    try {
      runtimeSources(dir, files);
    } catch {
      // a workspace without src/
    }
  }
  return files;
}

/** Strips every runtime source of the workspaces into the cache; returns how many were stripped now and how many were there. */
export function warmStripCache(root = ROOT) {
  let stripped = 0;
  let cached = 0;
  for (const file of workspaceRuntimeSources(root)) {
    if (strippedOf(readFileSync(file, 'utf8')).hit) cached++;
    else stripped++;
  }
  return { stripped, cached };
}
