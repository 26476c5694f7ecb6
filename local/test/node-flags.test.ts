import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeArgs, nodeFlags } from '../src/node-flags.ts';
import { strippedOf, warmStripCache } from '../src/strip-cache.mjs';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
// Under local/src so it is the repo's own code (not node_modules) in a "type": "module" package.
const dir = mkdtempSync(path.join(ROOT, 'local', 'src', '.node-flags-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the strip cache', () => {
  it("holds exactly Node's own stripping of a file, and hits the second time", () => {
    const source = `const n: number = ${Date.now()};\nexport const twice = (x: number): number => x * 2 + n;\n`;
    const first = strippedOf(source);
    expect(first.hit).toBe(false);
    expect(first.code).toBe(stripTypeScriptTypes(source, { mode: 'strip' }));
    expect(strippedOf(source)).toEqual({ code: first.code, hit: true });
  });

  it('covers every runtime source after a warm-up', () => {
    warmStripCache(ROOT);
    expect(warmStripCache(ROOT).stripped).toBe(0);
  });
});

describe('nodeFlags', () => {
  it('runs .ts modules without loading the TypeScript stripper, keeping line and column in stack traces', () => {
    writeFileSync(
      path.join(dir, 'dep.ts'),
      'export function fail(why: string): never {\n  throw new Error(why);\n}\n',
    );
    const main = path.join(dir, 'main.ts');
    writeFileSync(
      main,
      [
        "import { fail } from './dep.ts';",
        'const loaded: string[] = process.moduleLoadList.filter((m) => m.includes("amaro"));',
        'let at = "";',
        'try { fail("boom"); } catch (e) { at = String((e as Error).stack).split("\\n")[1] ?? ""; }',
        'console.log(JSON.stringify({ loaded, at, semi: process.execArgv }));',
        '',
      ].join('\n'),
    );
    // Warmed as the start's warm step would (it skips hidden folders such as this test's).
    for (const f of [main, path.join(dir, 'dep.ts')]) strippedOf(readFileSync(f, 'utf8'));
    const out = JSON.parse(
      execFileSync(process.execPath, [...nodeFlags('service'), main], { encoding: 'utf8', cwd: ROOT }),
    ) as { loaded: string[]; at: string; semi: string[] };
    expect(out.loaded).toEqual([]);
    // `throw` is on line 2, column 3 of dep.ts: the stripped code keeps every position.
    expect(out.at).toContain(`${path.join(dir, 'dep.ts')}:2:9`);
    expect(out.semi).toContain('--max-semi-space-size=1');
  });

  it('runs a file the cache has not seen yet: that process strips it itself', () => {
    warmStripCache(ROOT);
    const fresh = path.join(dir, `fresh-${Date.now()}.ts`);
    writeFileSync(
      fresh,
      // Content of its own (the cache is keyed by content): a fixed text would hit from the second run on.
      `const n: number = 41; // ${Date.now()}-${process.pid}\nconsole.log(JSON.stringify({ n: n + 1, stripper: process.moduleLoadList.some((m) => m.includes("amaro")) }));\n`,
    );
    const out = JSON.parse(
      execFileSync(process.execPath, [...nodeFlags('gateway'), fresh], { encoding: 'utf8', cwd: ROOT }),
    ) as { n: number; stripper: boolean };
    expect(out).toEqual({ n: 42, stripper: true });
    expect(strippedOf(readFileSync(fresh, 'utf8')).hit).toBe(true);
  });

  it('has scripts/bw run the supervisor with the arguments warm.ts prints: nodeArgs, its bundle', () => {
    const bw = readFileSync(path.join(ROOT, 'scripts', 'bw'), 'utf8');
    expect(bw).toContain('mapfile -t supervisor < <(node local/src/warm.ts local/src/cli.ts)');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: bash's array expansion, not a template
    expect(bw).toContain('exec node "${supervisor[@]}" up "$@"');
    const printed = execFileSync(process.execPath, ['local/src/warm.ts', 'local/src/cli.ts'], {
      encoding: 'utf8',
      cwd: ROOT,
    });
    const args = printed.trim().split('\n');
    expect(args).toEqual(nodeArgs('supervisor', 'local/src/cli.ts'));
    expect(args).toEqual([
      '--max-semi-space-size=1',
      expect.stringMatching(/bw-bundles\/[^/]+\/local\/src\/cli\.mjs$/),
    ]);
  }, 120_000);
});
