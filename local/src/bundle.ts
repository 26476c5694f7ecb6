/**
 * One ESM file per process entry (a service's or the gateway's
 * src/main.ts), made by esbuild: the module graph — our sources and their
 * node_modules — compiled once instead of resolved, read and compiled file
 * by file at every start. Measured on Node 24.21 (README "Benchmarks"):
 * loading catalog's graph from its bundle takes ~0.3 CPU-s against ~0.75
 * from the strip cache, and ~5–10 MiB less RSS.
 *
 * Used by the bundle cache of `npm start` (bundle-cache.ts) and by the
 * Dockerfile's build stage (`node local/src/bundle.ts <root> <out.mjs> <entry>`),
 * so the image runs exactly what `npm start` runs.
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
 * - The source map names the `.ts` files (lines as written) and nothing from
 *   node_modules: a map of everything costs ~+15 MiB RSS per process with
 *   `--enable-source-maps`; ours alone cost next to nothing.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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
        if (args.path === entry) source = `import ${JSON.stringify(STACK_TRACES)}; ${source}`; // same line: the lines stay the source's
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

const VLQ = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const VLQ_VALUE = new Map([...VLQ].map((c, i) => [c, i]));

function decodeSegment(text: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const digit = VLQ_VALUE.get(c) as number;
    value += (digit & 31) << shift;
    if (digit & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

function encodeSegment(fields: readonly number[]): string {
  let out = '';
  for (const f of fields) {
    let v = f < 0 ? (-f << 1) | 1 : f << 1;
    do {
      let digit = v & 31;
      v >>>= 5;
      if (v > 0) digit |= 32;
      out += VLQ[digit];
    } while (v > 0);
  }
  return out;
}

interface RawSourceMap {
  sources: string[];
  names: string[];
  mappings: string;
  sourcesContent?: unknown;
}

/**
 * The map without node_modules: their segments become unmapped (a frame
 * there names the bundle's line) and their names leave `sources`. Fields are
 * decoded to absolute values, then re-encoded relative to the kept ones.
 */
export function ownSourcesOnly(map: RawSourceMap, mapDir: string): RawSourceMap {
  // Resolved first: the bundle cache itself lives under node_modules, so a relative path may not say it.
  const keep = map.sources.map(
    (s) => !path.resolve(mapDir, s).includes(`${path.sep}node_modules${path.sep}`),
  );
  const newIndex: number[] = [];
  const sources: string[] = [];
  map.sources.forEach((s, i) => {
    if (keep[i]) newIndex[i] = sources.push(s) - 1;
  });
  let src = 0;
  let line = 0;
  let col = 0;
  let name = 0;
  let outSrc = 0;
  let outLine = 0;
  let outCol = 0;
  let outName = 0;
  const lines = map.mappings.split(';').map((l) => {
    let genCol = 0;
    let outGenCol = 0;
    let lastMapped = false;
    const segments: string[] = [];
    for (const seg of l === '' ? [] : l.split(',')) {
      const f = decodeSegment(seg);
      genCol += f[0] as number;
      if (f.length > 1) {
        src += f[1] as number;
        line += f[2] as number;
        col += f[3] as number;
        if (f.length === 5) name += f[4] as number;
      }
      if (f.length === 1 || !keep[src]) {
        // Ends the previous mapped range, so vendor code is not credited to our line.
        if (lastMapped) {
          segments.push(encodeSegment([genCol - outGenCol]));
          outGenCol = genCol;
        }
        lastMapped = false;
        continue;
      }
      const s = newIndex[src] as number;
      const fields = [genCol - outGenCol, s - outSrc, line - outLine, col - outCol];
      if (f.length === 5) {
        fields.push(name - outName);
        outName = name;
      }
      segments.push(encodeSegment(fields));
      outGenCol = genCol;
      outSrc = s;
      outLine = line;
      outCol = col;
      lastMapped = true;
    }
    return segments.join(',');
  });
  const names = map.names; // indices into names are kept as they are
  return { ...map, sources, names, mappings: lines.join(';'), sourcesContent: undefined };
}

/**
 * Bundles `entry` (absolute) into `outFile` (absolute, `.mjs`) with its
 * source map beside it (`<outFile>.map`, linked from the bundle).
 */
export async function bundleEntry(entry: string, outFile: string): Promise<void> {
  const result = await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    sourcemap: 'linked',
    sourcesContent: false,
    external: EXTERNAL,
    banner: { js: BANNER },
    plugins: [ownImportMeta(entry)],
    logLevel: 'error',
    write: false,
  });
  mkdirSync(path.dirname(outFile), { recursive: true });
  for (const file of result.outputFiles) {
    const text = file.path.endsWith('.map')
      ? JSON.stringify(ownSourcesOnly(JSON.parse(file.text) as RawSourceMap, path.dirname(file.path)))
      : file.text;
    writeFileSync(file.path, text);
  }
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
