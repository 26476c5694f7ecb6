/**
 * The workspaces as packages: imports cross a workspace boundary only through
 * package entry points (imports.ts), and the one Dockerfile builds every Node
 * service's image from the package.json files (workspaces.ts). No Docker
 * engine here, so images are not built; what can be checked statically is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { NODE_WORKLOADS } from '@breakwater/render/workloads';
import { describe, expect, it } from 'vitest';
import { importProblem, importProblems, importSpecifiers, typeScriptFiles } from './imports.ts';
import { imagePlan, listWorkspaces, runtimeClosure, type Workspace } from './workspaces.ts';

const ROOT = resolve(import.meta.dirname, '..');
const workspaces = listWorkspaces(ROOT);

describe('package boundaries', () => {
  it('no import reaches into another workspace by path, past its exports, or without a declared dependency', () => {
    expect(typeScriptFiles(ROOT).length).toBeGreaterThan(200);
    expect(importProblems(ROOT, workspaces)).toEqual([]);
  });

  const ws = (name: string, dir: string, pkg: Partial<Workspace['pkg']> = {}): Workspace => ({
    name,
    dir,
    pkg: { name, exports: { '.': './src/index.ts', './config': './src/config.ts' }, ...pkg },
  });
  const fake = [
    ws('@breakwater/gateway', 'gateway', { dependencies: { '@breakwater/mesh': '0.1.0' } }),
    ws('@breakwater/mesh', 'mesh', { exports: { '.': './src/index.ts', './policy/*': './src/policy/*.ts' } }),
    ws('@breakwater/render', 'tools/render', {
      dependencies: { '@breakwater/gateway': '0.1.0' },
      devDependencies: { '@breakwater/mesh': '0.1.0' },
    }),
  ];

  it('names a relative import that leaves its workspace, an entry point not exported, and a missing dependency', () => {
    expect(importProblem(fake, 'tools/render/src/a.ts', '../../../gateway/src/config.ts')).toMatch(
      /reaches into gateway by path; import @breakwater\/gateway/,
    );
    expect(importProblem(fake, 'scripts/x.ts', '../mesh/src/index.ts')).toMatch(/reaches into mesh by path/);
    expect(importProblem(fake, 'mesh/src/a.ts', '../../scripts/x.ts')).toMatch(/the repository root/);
    expect(importProblem(fake, 'tools/render/src/a.ts', '@breakwater/gateway/auth')).toMatch(
      /exports no '\.\/auth'/,
    );
    expect(importProblem(fake, 'tools/render/src/a.ts', '@breakwater/mesh/policy/schema')).toMatch(
      /does not list in "dependencies"/,
    );
    expect(importProblem(fake, 'gateway/test/a.test.ts', '@breakwater/render')).toMatch(/neither/);
  });

  it('accepts imports inside a workspace, exported entry points and declared dependencies', () => {
    expect(importProblem(fake, 'tools/render/src/k8s/a.ts', '../policy/istio.ts')).toBeUndefined();
    expect(importProblem(fake, 'tools/render/src/a.ts', '@breakwater/gateway/config')).toBeUndefined();
    expect(
      importProblem(fake, 'tools/render/test/a.test.ts', '@breakwater/mesh/policy/schema'),
    ).toBeUndefined();
    expect(importProblem(fake, 'gateway/src/a.ts', '@breakwater/mesh')).toBeUndefined();
    expect(importProblem(fake, 'gateway/src/a.ts', 'yaml')).toBeUndefined();
  });

  it('finds static, type-only, re-exported, side-effect and dynamic imports', () => {
    const src = [
      "import { a } from './a.ts';",
      "import type {\n  B,\n  type C as D,\n} from '../b.ts';",
      "export * from './c.ts';",
      "import './d.ts';",
      "const e = await import('@breakwater/mesh');",
      " * a comment: see import x from './not-an-import.ts'",
    ].join('\n');
    expect(importSpecifiers(src).sort()).toEqual([
      '../b.ts',
      './a.ts',
      './c.ts',
      './d.ts',
      '@breakwater/mesh',
    ]);
  });
});

// Docker's .dockerignore semantics: patterns in order, the last one that matches decides (`!` lets through).
const ignorePatterns = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));
function ignored(path: string): boolean {
  let out = false;
  for (const raw of ignorePatterns) {
    const negate = raw.startsWith('!');
    const pattern = negate ? raw.slice(1) : raw;
    const re = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '@@GLOBSTAR@@')
        .replace(/\*/g, '[^/]*')
        .replace(/@@GLOBSTAR@@/g, '(.*/)?')}(/.*)?$`,
    );
    if (re.test(path)) out = !negate;
  }
  return out;
}

/** Runtime files of a workspace: .ts under src/, tests excluded. */
const runtimeFiles = (w: Workspace) =>
  typeScriptFiles(ROOT).filter((f) => f.startsWith(`${w.dir}/src/`) && !f.endsWith('.test.ts'));

describe('the Dockerfile', () => {
  const text = readFileSync(resolve(ROOT, 'Dockerfile'), 'utf8');

  it('is multi-stage with pinned Node 24 bases and a distroless non-root run stage', () => {
    const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms).toEqual(['node:24.21.0-bookworm-slim', 'gcr.io/distroless/nodejs24-debian12:nonroot']);
    expect(text).toMatch(/^USER nonroot$/m);
    expect(text).toMatch(/HEALTHCHECK .*\n\s+CMD \["\/nodejs\/bin\/node", "-e"/);
  });

  it('names no workspace: the service is a build argument and scripts/workspaces.ts picks what to copy', () => {
    expect(text).toMatch(/^ARG SERVICE$/m);
    expect(text).toContain('RUN node scripts/workspaces.ts image "$SERVICE" /app');
    const copies = [...text.matchAll(/^COPY\s+(.+)$/gm)].map((m) => m[1]);
    expect(copies).toEqual(['. .', '--from=build /app ./']);
    for (const w of workspaces) expect(text).not.toContain(`${w.dir}/`);
    // the bundle of the service's main.ts, which workspaces.ts builds
    expect(text).toContain('CMD ["main.mjs"]');
  });

  it('.dockerignore lets the picker and every package.json npm ci checks into the context, and keeps out tools, tests and dev keys', () => {
    expect(ignored('scripts/workspaces.ts')).toBe(false);
    expect(ignored('scripts/bw')).toBe(true);
    for (const f of ['local/src/bundle.ts', 'local/src/bundle-stack-traces.ts'])
      expect(ignored(f), f).toBe(false);
    for (const f of imagePlan(ROOT, 'catalog').manifests) {
      expect(existsSync(resolve(ROOT, f)), f).toBe(true);
      expect(ignored(f), f).toBe(false);
    }
    for (const p of [
      'node_modules/x',
      'mesh/node_modules/y',
      '.git/HEAD',
      'mesh/test/a.ts',
      'mesh/src/a.test.ts',
      'tools/render/src/cli.ts',
      'gateway/rendered/kong.yml',
      'gateway/dev-keys/dev.jwks.json',
      'gateway/dev-keys/bob-rs256-dev.private.jwk.json',
      'gateway/gateway.yaml',
      'local/src/cli.ts',
      'mesh/policy.yaml',
      'observability/grafana/dashboards/overview.json',
      'observability/prometheus/rules/red.yml',
    ])
      expect(ignored(p), p).toBe(true);
  });
});

describe.each(NODE_WORKLOADS.map((w) => [w.name, w] as const))('the %s image', (name, w) => {
  const plan = imagePlan(ROOT, name);

  it("carries the service's workspace and what its package.json files depend on, and runs the Deployment's entry", () => {
    expect(plan.entry).toBe(w.entry);
    const own = plan.workspaces.find((x) => plan.entry.startsWith(`${x.dir}/`));
    expect(own?.name).toBe(`@breakwater/${name}`);
    expect(plan.workspaces.map((x) => x.name)).toEqual(
      runtimeClosure(workspaces, `@breakwater/${name}`).map((x) => x.name),
    );
  });

  it('carries every workspace its runtime code imports (a dependency missing from a package.json fails here)', () => {
    const carried = new Set(plan.workspaces.map((x) => x.name));
    const imported = plan.workspaces.flatMap((x) =>
      runtimeFiles(x).flatMap((f) =>
        importSpecifiers(readFileSync(resolve(ROOT, f), 'utf8'))
          .map((s) => /^(@breakwater\/[^/]+)/.exec(s)?.[1])
          .filter((s): s is string => s !== undefined)
          .map((s) => `${f}: ${s}`),
      ),
    );
    expect(imported.length).toBeGreaterThan(0);
    expect(imported.filter((i) => !carried.has(i.split(': ')[1] as string))).toEqual([]);
  });

  it('carries no build-time workspace or renderer dependency', () => {
    const names = plan.workspaces.map((x) => x.name);
    expect(names).not.toContain('@breakwater/render');
    expect(names).not.toContain('@breakwater/local');
    const deps = plan.workspaces.flatMap((x) => Object.keys(x.pkg.dependencies ?? {}));
    for (const d of [
      '@grpc/grpc-js-xds',
      'protobufjs',
      '@grafana/grafana-foundation-sdk',
      'kubernetes-models',
    ])
      expect(deps).not.toContain(d);
  });

  it('has every file its code reads next to itself (new URL("../x", import.meta.url)) in the build context', () => {
    const needed = plan.workspaces.flatMap((x) =>
      runtimeFiles(x).flatMap((f) =>
        [
          ...readFileSync(resolve(ROOT, f), 'utf8').matchAll(
            /new URL\(\s*'(\.\.?\/[^']*)',\s*import\.meta\.url\)/g,
          ),
        ]
          .map((m) => relative(ROOT, resolve(dirname(resolve(ROOT, f)), m[1] as string)))
          // mesh/policy.yaml is read by the renderers (build time), not by a running service
          .filter((p) => p !== 'mesh/policy.yaml'),
      ),
    );
    const missing = needed.filter(
      (n) =>
        !existsSync(resolve(ROOT, n)) ||
        ignored(n) ||
        !plan.workspaces.some((x) => n.startsWith(`${x.dir}/`)),
    );
    expect(missing).toEqual([]);
  });
});
