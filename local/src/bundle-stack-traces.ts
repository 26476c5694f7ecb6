/**
 * Stack traces that name the `.ts` files in a bundled process, paid for only
 * when a stack is formatted. The first module of every bundle (bundle.ts puts
 * it there).
 *
 * Why not `--enable-source-maps`: Node then reads and decodes the map while
 * the bundle loads, in every process, errors or not — measured +8 MiB RSS
 * and +~50 ms CPU per process even with a map of our sources alone (README
 * "Benchmarks"). Here the map is read at the first stack that has a frame in
 * the bundle, and frames keep V8's format with the bundle's position replaced
 * by the source's (`at loadConfig (/…/services/catalog/src/config.ts:31:11)`);
 * frames in node_modules (not in the map) keep the bundle's.
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// bundle.ts leaves this module's import.meta as it is: inside a bundle it is the bundle's URL.
const BUNDLE_URL = import.meta.url;
const BUNDLE_FILE = fileURLToPath(BUNDLE_URL);

let map: SourceMap | null | undefined;

function sourceMap(): SourceMap | null {
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(readFileSync(`${BUNDLE_FILE}.map`, 'utf8')));
    } catch {
      map = null; // no map beside the bundle: frames keep the bundle's positions
    }
  }
  return map;
}

function frame(site: NodeJS.CallSite): string {
  const text = String(site);
  const line = site.getLineNumber();
  const column = site.getColumnNumber();
  if (site.getFileName() !== BUNDLE_URL || line === null || column === null) return text;
  const entry = sourceMap()?.findEntry(line - 1, column - 1);
  if (!entry || !('originalSource' in entry)) return text;
  const source = path.resolve(path.dirname(BUNDLE_FILE), entry.originalSource);
  return text.replace(
    `${BUNDLE_URL}:${line}:${column}`,
    `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`,
  );
}

Error.prepareStackTrace = (error: unknown, sites: NodeJS.CallSite[]) => {
  let header: string;
  try {
    header = error instanceof Error ? Error.prototype.toString.call(error) : String(error);
  } catch {
    header = '<error>';
  }
  return [header, ...sites.map((s) => `    at ${frame(s)}`)].join('\n');
};
