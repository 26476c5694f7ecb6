/**
 * `npm run render` (node gateway/src/render.ts [--check]): gateway.yaml →
 * gateway/rendered/kong.yml and gateway/rendered/envoy.yaml, deterministic,
 * each validated before it is written (Kong: kong-validate.ts; Envoy:
 * Envoy's own protos). Approximations are printed and written at the top of
 * each file. `--check` writes nothing and exits 1 when a checked-in file is stale.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { type LoadedConfig, loadConfig } from './config.ts';
import { validateEnvoyBootstrap } from './envoy-validate.ts';
import { validateKongFile } from './kong-validate.ts';
import { renderEnvoy } from './render-envoy.ts';
import { renderKong } from './render-kong.ts';

export const GATEWAY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const RENDERED = {
  kong: join(GATEWAY_ROOT, 'rendered/kong.yml'),
  envoy: join(GATEWAY_ROOT, 'rendered/envoy.yaml'),
};

function header(what: string, approximations: string[]): string {
  const lines = [
    `# ${what} — GENERATED from gateway/gateway.yaml by gateway/src/render.ts; do not edit.`,
    '# Regenerate with `npm run render`; a test fails when this file is stale.',
  ];
  if (approximations.length > 0) {
    lines.push('#', '# Approximations (what this target cannot express exactly):');
    for (const a of approximations) lines.push(`#  - ${a}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface Rendered {
  kong: string;
  envoy: string;
  approximations: string[];
}

export function renderAll(loaded: LoadedConfig): Rendered {
  const kong = renderKong(loaded.config, loaded.baseDir);
  const kongProblems = validateKongFile(kong.doc);
  if (kongProblems.length > 0)
    throw new Error(`rendered kong.yml is invalid:\n  ${kongProblems.join('\n  ')}`);
  const envoy = renderEnvoy(loaded.config);
  envoy.approximations.push(
    'envoy: the request body limit (proxy.bodyLimitBytes) is not rendered; Envoy enforces one only by buffering whole bodies',
  );
  const envoyProblems = validateEnvoyBootstrap(envoy.doc);
  if (envoyProblems.length > 0)
    throw new Error(`rendered envoy.yaml is invalid:\n  ${envoyProblems.join('\n  ')}`);
  const opts = { lineWidth: 0 } as const;
  return {
    kong:
      header('Kong declarative configuration (DB-less, _format_version 3.0)', kong.approximations) +
      stringify(kong.doc, opts),
    envoy: header('Envoy v3 static bootstrap', envoy.approximations) + stringify(envoy.doc, opts),
    approximations: [...kong.approximations, ...envoy.approximations],
  };
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  const loaded = loadConfig(process.env.GATEWAY_CONFIG ?? join(GATEWAY_ROOT, 'gateway.yaml'));
  const out = renderAll(loaded);
  for (const a of out.approximations) process.stderr.write(`approximation: ${a}\n`);
  let stale = false;
  for (const [key, file] of Object.entries(RENDERED) as [keyof typeof RENDERED, string][]) {
    const text = out[key];
    if (read(file) === text) continue;
    stale = true;
    if (!check) {
      writeFileSync(file, text);
      process.stdout.write(`wrote ${file}\n`);
    } else process.stderr.write(`stale: ${file}\n`);
  }
  if (check && stale) process.exit(1);
  if (!stale) process.stdout.write('rendered files are up to date\n');
}
