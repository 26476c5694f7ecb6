/**
 * The kubernetes-models validators (like the Kubernetes OpenAPI schemas they
 * come from) accept fields they do not know: a misspelt `readinesProbe`
 * passes them and the API server drops it silently. TypeScript's
 * excess-property check does reject it, against the same packages' types, so
 * this writes every built object as a typed literal and runs tsc on it.
 * Limit: inside Istio's union-typed (oneOf) branches the check does not
 * reach every level; top-level spec fields and most nested ones are covered.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Manifest, modelsModule, ROOT } from './manifests.ts';

/** Runs tsc over typed literals of `objects`; returns tsc's complaints (empty when every field is known). */
export function unknownFieldProblems(objects: readonly Manifest[]): string[] {
  const base = resolve(ROOT, 'tools/render/test/k8s/generated');
  mkdirSync(base, { recursive: true });
  const dir = mkdtempSync(join(base, 'strict-'));
  try {
    const imports = new Map<string, string>();
    const lines: string[] = [];
    objects.forEach((o, i) => {
      const mod = modelsModule(String(o.apiVersion));
      if (mod === undefined) throw new Error(`${o.kind}/${o.metadata?.name}: no types for ${o.apiVersion}`);
      const alias = `T${imports.size}`;
      const key = `${mod}#${o.kind}`;
      if (!imports.has(key)) imports.set(key, alias);
      lines.push(
        `// ${o.kind}/${o.metadata?.name}\nexport const o${i}: ${imports.get(key)} = ${JSON.stringify(o)};`,
      );
    });
    const head = [...imports.entries()].map(([key, alias]) => {
      const [mod, kind] = key.split('#');
      return `import type { I${kind} as ${alias} } from '${mod}';`;
    });
    writeFileSync(join(dir, 'objects.ts'), `${head.join('\n')}\n${lines.join('\n')}\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: resolve(ROOT, 'tsconfig.base.json'),
        compilerOptions: { noEmit: true, skipLibCheck: true, types: [] },
        files: ['objects.ts'],
      }),
    );
    try {
      execFileSync(resolve(ROOT, 'node_modules/.bin/tsc'), ['-p', join(dir, 'tsconfig.json')], {
        encoding: 'utf8',
        stdio: 'pipe',
      });
      return [];
    } catch (err) {
      const out = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
      // objects.ts: the import lines, then per object a comment line and its literal
      const ids = objects.map((o) => `${o.kind}/${o.metadata?.name}`);
      return out
        .split('\n')
        .filter((l) => l.includes('error TS'))
        .map((l) => {
          const line = Number(/objects\.ts\((\d+),/.exec(l)?.[1] ?? 0);
          const id = ids[Math.floor((line - head.length - 2) / 2)] ?? '?';
          return `${id}: ${l.replace(/^.*?error TS\d+: /, '')}`;
        });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
