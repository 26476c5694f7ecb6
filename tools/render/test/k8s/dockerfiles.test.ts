import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_WORKLOADS } from '../../src/k8s/platform.ts';
import { sourceFiles } from '../../src/policy/code-edges.ts';
import { ROOT } from './manifests.ts';

/**
 * No Docker engine here, so the images are not built in tests; this checks
 * what can be checked statically: multi-stage, pinned bases, production
 * dependencies only, non-root distroless run stage, every COPY source exists
 * and is not excluded by .dockerignore, and the entry the Deployment runs.
 */
const dockerfileOf = (name: string) =>
  name === 'gateway' ? 'gateway/Dockerfile' : `services/${name}/Dockerfile`;
const ignore = readFileSync(resolve(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

function ignored(path: string): boolean {
  return ignore.some((pattern) => {
    const re = new RegExp(
      `^${pattern
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*\//g, '@@GLOBSTAR@@')
        .replace(/\*/g, '[^/]*')
        .replace(/@@GLOBSTAR@@/g, '(.*/)?')}(/.*)?$`,
    );
    return re.test(path);
  });
}

/** The source paths of the COPY instructions that copy from the build context. */
function copySources(dockerfile: string): string[] {
  return [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)$/gm)].flatMap((m) =>
    (m[1] as string)
      .trim()
      .split(/\s+/)
      .slice(0, -1)
      .map((p) => p.replace(/\/$/, '')),
  );
}

describe.each(NODE_WORKLOADS.map((w) => [w.name, w] as const))('%s Dockerfile', (name, w) => {
  const file = dockerfileOf(name);
  const text = readFileSync(resolve(ROOT, file), 'utf8');
  const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1] as string);

  it('is multi-stage with pinned Node 24 bases and a distroless non-root run stage', () => {
    expect(froms).toEqual(['node:24.21.0-bookworm-slim', 'gcr.io/distroless/nodejs24-debian12:nonroot']);
    expect(text).toMatch(/^USER nonroot$/m);
  });

  it('installs production dependencies only, for its own workspaces', () => {
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toContain(`--workspace @breakwater/${name}`);
    expect(text).toContain('--workspace @breakwater/mesh');
  });

  it('copies sources that exist and .dockerignore lets through', () => {
    const sources = copySources(text);
    const missing = sources.filter((s) => !existsSync(resolve(ROOT, s)));
    expect(missing).toEqual([]);
    expect(sources.filter(ignored)).toEqual([]);
  });

  it('copies every file the code reads next to itself (new URL("../x", import.meta.url))', () => {
    const copied = copySources(text);
    const srcDir = name === 'gateway' ? 'gateway/src' : `services/${name}/src`;
    const needed = sourceFiles(resolve(ROOT, srcDir)).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/new URL\(\s*'(\.\.?\/[^']*)',\s*import\.meta\.url\)/g)].map((m) =>
        relative(ROOT, resolve(dirname(f), m[1] as string)),
      ),
    );
    const uncovered = needed.filter((n) => !copied.some((c) => n === c || n.startsWith(`${c}/`)));
    expect(uncovered).toEqual([]);
  });

  it('carries every workspace its code (and mesh and observability) imports', () => {
    const srcDir = name === 'gateway' ? 'gateway/src' : `services/${name}/src`;
    const imported = new Set(
      [srcDir, 'mesh/src', 'observability/src'].flatMap((d) =>
        sourceFiles(resolve(ROOT, d)).flatMap((f) =>
          [...readFileSync(f, 'utf8').matchAll(/from '@breakwater\/([a-z-]+)/g)].map((m) => m[1] as string),
        ),
      ),
    );
    const dirOf = (ws: string) => (ws === name ? srcDir : `${ws}/src`);
    const missing = [...imported].filter(
      (ws) => !copySources(text).includes(dirOf(ws)) || !text.includes(`--workspace @breakwater/${ws}`),
    );
    expect(missing).toEqual([]);
  });

  it('runs the entry the Deployment runs, with a HEALTHCHECK that needs no shell', () => {
    expect(text).toContain(`CMD ["${w.entry}"]`);
    expect(text).toMatch(/HEALTHCHECK .*\n\s+CMD \["\/nodejs\/bin\/node", "-e"/);
  });
});

describe('.dockerignore', () => {
  it('keeps node_modules, git, tests and private dev keys out of the build context', () => {
    for (const p of [
      'node_modules/x',
      'mesh/node_modules/y',
      '.git/HEAD',
      'mesh/test/a.ts',
      'mesh/src/a.test.ts',
    ])
      expect(ignored(p), p).toBe(true);
    expect(ignored('gateway/dev-keys/bob-rs256-dev.private.jwk.json')).toBe(true);
    expect(ignored('gateway/dev-keys/dev.jwks.json')).toBe(false);
    expect(ignored('local/package.json')).toBe(false);
  });
});
