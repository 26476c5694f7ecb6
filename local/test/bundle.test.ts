import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleEntry } from '../src/bundle.ts';
import {
  BUNDLE_CACHE_DIR,
  bundleEntries,
  bundleFile,
  bundleKey,
  bundleOf,
  prepareBundles,
  warmBundles,
} from '../src/bundle-cache.ts';
import { nodeArgs } from '../src/node-flags.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
// Outside every workspace's src/ (the bundle key covers those), inside the checkout (node_modules resolve).
mkdirSync(path.join(ROOT, '.run'), { recursive: true });
const dir = mkdtempSync(path.join(ROOT, '.run', 'bundle-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a bundle', () => {
  it('runs its sources as they run unbundled: own import.meta, no CLI of an imported module, stack frames naming the .ts files, no stripper', async () => {
    writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(path.join(dir, 'data.txt'), 'next to lib.ts\n');
    mkdirSync(path.join(dir, 'lib'));
    writeFileSync(
      path.join(dir, 'lib', 'lib.ts'),
      [
        "import { readFileSync } from 'node:fs';",
        "import { z } from 'zod';",
        "export const data: string = readFileSync(new URL('../data.txt', import.meta.url), 'utf8').trim();",
        'export const dirOk: boolean = import.meta.dirname.endsWith("/lib");',
        'export function fail(why: string): never {',
        '  throw new Error(z.string().parse(why));',
        '}',
        'if (import.meta.main) console.log("lib CLI ran");',
        '',
      ].join('\n'),
    );
    const main = path.join(dir, 'main.ts');
    writeFileSync(
      main,
      [
        "import { data, dirOk, fail } from './lib/lib.ts';",
        'let at = "";',
        'try { fail("boom"); } catch (e) { at = String((e as Error).stack).split("\\n")[1] ?? ""; }',
        'const stripper = process.moduleLoadList.some((m) => m.includes("amaro"));',
        'console.log(JSON.stringify({ data, dirOk, at, stripper, main: import.meta.main }));',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, 'out', 'main.mjs');
    await bundleEntry(main, out);
    const printed = execFileSync(process.execPath, [out], { encoding: 'utf8', cwd: ROOT });
    expect(printed).not.toContain('lib CLI ran');
    expect(JSON.parse(printed)).toEqual({
      data: 'next to lib.ts',
      dirOk: true,
      // `throw` is on line 6, column 9 of lib.ts
      at: expect.stringContaining(`${path.join(dir, 'lib', 'lib.ts')}:6:9`),
      stripper: false,
      main: true,
    });
    // The map names our sources only: zod's code (bundled) is not in it.
    const map = JSON.parse(readFileSync(`${out}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.map((s) => path.resolve(path.dirname(out), s)).sort()).toEqual(
      [
        path.join(ROOT, 'local', 'src', 'bundle-stack-traces.ts'),
        path.join(dir, 'lib', 'lib.ts'),
        main,
      ].sort(),
    );
  });
});

describe('the bundle cache', () => {
  it('keys the bundles by the files they were made of: an imported JSON edited rebuilds, a file nothing imports does not', async () => {
    // A checkout of its own: one workspace whose main.ts imports a source and a JSON file.
    const root = path.join(dir, 'checkout');
    mkdirSync(path.join(root, 'app', 'src'), { recursive: true });
    writeFileSync(path.join(root, 'package.json'), '{ "type": "module", "workspaces": ["app"] }\n');
    writeFileSync(path.join(root, 'package-lock.json'), '{}\n');
    writeFileSync(path.join(root, 'app', 'package.json'), '{ "name": "app", "type": "module" }\n');
    writeFileSync(path.join(root, 'app', 'data.json'), '{ "n": 1 }\n');
    writeFileSync(
      path.join(root, 'app', 'src', 'lib.ts'),
      "import data from '../data.json' with { type: 'json' };\nexport const n: number = data.n;\n",
    );
    writeFileSync(
      path.join(root, 'app', 'src', 'main.ts'),
      "import { n } from './lib.ts';\nconsole.log(n);\n",
    );
    expect(bundleEntries(root)).toEqual(['app/src/main.ts']);
    expect(bundleKey(root)).toBeUndefined();

    const first = await warmBundles(root);
    expect(first.built).toBe(true);
    const key = bundleKey(root) as string;
    const run = () =>
      execFileSync(process.execPath, [bundleFile('app/src/main.ts', key, root)], { encoding: 'utf8' }).trim();
    expect(run()).toBe('1');
    expect(await warmBundles(root)).toEqual({ dir: first.dir, built: false });

    writeFileSync(path.join(root, 'app', 'src', 'unused.ts'), 'export const x = 1;\n');
    expect(bundleKey(root)).toBe(key);
    writeFileSync(path.join(root, 'app', 'data.json'), '{ "n": 2 }\n');
    expect(bundleKey(root)).not.toBe(key);
    const second = await warmBundles(root);
    expect(second.built).toBe(true);
    expect(
      execFileSync(process.execPath, [bundleFile('app/src/main.ts', bundleKey(root) as string, root)], {
        encoding: 'utf8',
      }).trim(),
    ).toBe('2');
  }, 120_000);

  it('prepares the bundle of every entry of the checkout (scale, rollout), the supervisor included', async () => {
    await prepareBundles(ROOT);
    const key = bundleKey(ROOT) as string;
    for (const main of bundleEntries(ROOT)) expect(bundleOf(main, ROOT)).toBe(bundleFile(main, key, ROOT));
    expect(bundleEntries(ROOT)).toEqual(
      expect.arrayContaining(['local/src/cli.ts', 'local/src/drill/platform-up.ts']),
    );
  }, 120_000);

  it("gives a service its bundle from the cache (built when missing), and another checkout's entry its source", () => {
    const file = bundleOf('services/catalog/src/main.ts', ROOT);
    expect(file).toBe(
      path.join(BUNDLE_CACHE_DIR, bundleKey(ROOT) as string, 'services/catalog/src/main.mjs'),
    );
    expect(existsSync(`${file}.map`)).toBe(true);
    expect(nodeArgs('service', 'services/catalog/src/main.ts', ROOT)).toEqual([
      '--max-semi-space-size=1',
      file,
    ]);
    expect(nodeArgs('gateway', 'gateway/src/main.ts', dir)).toEqual(
      expect.arrayContaining(['--max-semi-space-size=8', 'gateway/src/main.ts']),
    );
  }, 120_000);
});
