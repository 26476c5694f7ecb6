/**
 * gateway.yaml → gateway/rendered/kong.yml and gateway/rendered/envoy.yaml,
 * deterministic, each validated before it is written (Kong: kong-validate.ts;
 * Envoy: Envoy's own protos). Approximations are written at the top of each
 * file (and printed by `npm run render`).
 */
import { join } from 'node:path';
import { type LoadedConfig, loadConfig } from '@breakwater/gateway/config';
import { stringify } from 'yaml';
import { validateEnvoyBootstrap } from './envoy-validate.ts';
import { validateKongFile } from './kong-validate.ts';
import { renderEnvoy } from './render-envoy.ts';
import { renderKong } from './render-kong.ts';

/** Where the rendered files live, repo-relative. */
export const RENDERED = {
  kong: 'gateway/rendered/kong.yml',
  envoy: 'gateway/rendered/envoy.yaml',
} as const;

function header(what: string, approximations: string[]): string {
  const lines = [
    `# ${what} — GENERATED from gateway/gateway.yaml by tools/render/src/gateway; do not edit.`,
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

/** repo-relative path → content of the gateway's rendered files, and the approximations to print. */
export function renderGatewayFiles(root: string): { files: Record<string, string>; notes: string[] } {
  const out = renderAll(loadConfig(join(root, 'gateway/gateway.yaml')));
  return {
    files: { [RENDERED.kong]: out.kong, [RENDERED.envoy]: out.envoy },
    notes: out.approximations.map((a) => `approximation: ${a}`),
  };
}
