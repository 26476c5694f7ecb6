/**
 * One ESM file per process entry (a service's or the gateway's
 * src/main.ts), made by esbuild: the module graph — our sources and their
 * node_modules — compiled once instead of resolved, read and compiled file
 * by file at every start. Measured on Node 24.21 (README "Benchmarks"):
 * loading catalog's graph from its bundle takes ~0.3 CPU-s against ~0.75
 * from the strip cache, and ~5–10 MiB less RSS.
 *
 * Used by the bundle cache of `npm start` (bundle-cache.ts) and by the
 * Dockerfile's build stage (`node local/src/bundle.ts /app /app/main.mjs main.ts`),
 * so the image runs what `npm start` runs, without type stripping.
 *
 * What bundling would change, and how it is kept as it was:
 * - `import.meta.url` / `dirname` / `filename` of a source are replaced by
 *   that source's own values, so files found next to it (migrations,
 *   public/, policy.yaml) are still found. The bundle therefore runs where
 *   its sources are (the cache is per checkout; the image bundles in /app).
 *   `import.meta.main` is `false` except in the entry, so a module that runs
 *   a CLI when it is the main file does not run it inside a service.
 * - CommonJS dependencies get `require` (for Node's built-ins) and
 *   `__filename`/`__dirname` (the bundle's: only used by pino transports and
 *   ioredis' friendly stacks, neither in use).
 * - `pg-native` stays external: pg loads it only when asked, and it is not installed.
 * - Whitespace is minified (names are kept; lines stay under ~160
 *   characters): the source text stays in each process's heap, ~5 MB for a
 *   service unminified.
 * - The source map names the `.ts` files (lines as written) and nothing from
 *   node_modules (a frame there names the bundle's position): a map of
 *   everything is ~3 MB; it is read only when a stack is formatted
 *   (bundle-stack-traces.ts).
 */
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { decode, encode, type SourceMapSegment } from '@jridgewell/sourcemap-codec';
import { build, type Plugin } from 'esbuild';

/** A dependency loaded only on demand and not installed: left as a run-time import. */
const EXTERNAL = ['pg-native'];

const BANNER = [
  "import { createRequire as __bwCreateRequire } from 'node:module';",
  "import { fileURLToPath as __bwFileURLToPath } from 'node:url';",
  'const require = __bwCreateRequire(import.meta.url);',
  'const __filename = __bwFileURLToPath(import.meta.url);',
  "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
].join(' ');

const IMPORT_META = /\bimport\.meta\.(url|dirname|filename|main)\b/g;

/** The bundle's first module: it maps stack frames to the `.ts` files, and needs the bundle's own `import.meta.url`. */
const STACK_TRACES = path.join(import.meta.dirname, 'bundle-stack-traces.ts');

/** Gives each of our `.ts` sources its own `import.meta` (see the file comment) and puts STACK_TRACES first. */
function ownImportMeta(entry: string): Plugin {
  return {
    name: 'bw-own-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`) || args.path === STACK_TRACES)
          return undefined;
        let source = readFileSync(args.path, 'utf8');
        // Imports run in order: this one before the entry's own.
        // On the first line of code (after a `#!` line), so every line keeps its number.
        if (args.path === entry) {
          const at = source.startsWith('#!') ? source.indexOf('\n') + 1 : 0;
          source = `${source.slice(0, at)}import ${JSON.stringify(STACK_TRACES)}; ${source.slice(at)}`;
        }
        const values: Record<string, string> = {
          url: JSON.stringify(pathToFileURL(args.path).href),
          dirname: JSON.stringify(path.dirname(args.path)),
          filename: JSON.stringify(args.path),
          main: String(args.path === entry),
        };
        return { contents: source.replace(IMPORT_META, (_, k: string) => values[k] as string), loader: 'ts' };
      });
    },
  };
}

interface RawSourceMap {
  sources: string[];
  names: string[];
  mappings: string;
  sourcesContent?: unknown;
}

/**
 * The map without node_modules: their segments become unmapped (a frame
 * there names the bundle's line) and their names leave `sources`. The
 * mappings (megabytes for a service) are decoded to absolute segments and
 * encoded again by @jridgewell/sourcemap-codec.
 */
export function ownSourcesOnly(map: RawSourceMap, mapDir: string): RawSourceMap {
  // Resolved first: the bundle cache itself lives under node_modules, so a relative path may not say it.
  const newIndex: (number | undefined)[] = [];
  const sources: string[] = [];
  for (const s of map.sources) {
    const own = !path.resolve(mapDir, s).includes(`${path.sep}node_modules${path.sep}`);
    newIndex.push(own ? sources.push(s) - 1 : undefined);
  }
  const lines = decode(map.mappings).map((line) => {
    const kept: SourceMapSegment[] = [];
    let lastMapped = false;
    for (const seg of line) {
      const src = seg.length === 1 ? undefined : newIndex[seg[1]];
      if (seg.length !== 1 && src !== undefined) {
        kept.push(seg.length === 5 ? [seg[0], src, seg[2], seg[3], seg[4]] : [seg[0], src, seg[2], seg[3]]);
        lastMapped = true;
      } else if (lastMapped) {
        // Ends the previous mapped range, so vendor code is not credited to our line.
        kept.push([seg[0]]);
        lastMapped = false;
      }
    }
    return kept;
  });
  return { ...map, sources, mappings: encode(lines), sourcesContent: undefined };
}

/**
 * Bundles `entry` (absolute) into `outFile` (absolute, `.mjs`) with its
 * source map beside it (`<outFile>.map`, linked from the bundle). Returns the
 * files it was made of outside node_modules (absolute): sources, and JSON
 * they import (the OpenAPI documents).
 */
export async function bundleEntry(entryPath: string, outFile: string): Promise<string[]> {
  // esbuild follows a link (the image's main.ts) to the file; the plugin compares real paths.
  const entry = realpathSync(entryPath);
  const result = await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    // Whitespace only (names stay, for stack traces): V8 keeps a module's source text in
    // memory, and a service's bundle is ~5 MB of it; measured −4.5 MiB PSS per process.
    minifyWhitespace: true,
    // Short lines all the same: Node prints the line of an uncaught error's throw, which
    // would otherwise be a whole module's code.
    lineLimit: 160,
    sourcemap: 'linked',
    sourcesContent: false,
    external: EXTERNAL,
    banner: { js: BANNER },
    plugins: [ownImportMeta(entry)],
    logLevel: 'error',
    write: false,
    metafile: true,
  });
  mkdirSync(path.dirname(outFile), { recursive: true });
  for (const file of result.outputFiles) {
    const text = file.path.endsWith('.map')
      ? JSON.stringify(ownSourcesOnly(JSON.parse(file.text) as RawSourceMap, path.dirname(file.path)))
      : file.text;
    writeFileSync(file.path, text);
  }
  return Object.keys(result.metafile.inputs)
    .map((f) => path.resolve(f)) // the metafile's paths are relative to the working directory
    .filter((f) => !f.includes(`${path.sep}node_modules${path.sep}`));
}

if (import.meta.main) {
  const [root, out, entry] = process.argv.slice(2);
  if (!root || !out || !entry) {
    process.stderr.write('usage: node local/src/bundle.ts <root> <out.mjs> <entry, relative to root>\n');
    process.exit(2);
  }
  try {
    await bundleEntry(path.resolve(root, entry), path.resolve(out));
  } catch (err) {
    process.stderr.write(`bundle: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
