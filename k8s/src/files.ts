/**
 * Every file `npm run render` writes under k8s/ (besides the mesh policy
 * resources, which mesh/src/render.ts writes), as repo-relative path →
 * content, so a test can compare a fresh render with the checked-in files.
 */
import { stringify } from 'yaml';
import { loadPolicy } from '../../mesh/src/policy/schema.ts';
import { renderBase } from './base.ts';

export const HEADER = (source: string) =>
  `# Generated from ${source} by \`npm run render\` (k8s/render.ts). Do not edit.\n`;

export function yamlDocuments(source: string, objects: readonly object[]): string {
  return (
    HEADER(source) +
    objects.map((o) => `---\n${stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('')
  );
}

export function renderK8sFiles(root: string): Record<string, string> {
  const policy = loadPolicy(`${root}/mesh/policy.yaml`);
  const out: Record<string, string> = {};
  const { files, kustomization } = renderBase(policy);
  const source = 'k8s/src/platform.ts and mesh/policy.yaml';
  for (const f of files) out[`k8s/base/${f.path}`] = yamlDocuments(source, f.objects);
  out['k8s/base/kustomization.yaml'] = HEADER(source) + stringify(kustomization, { lineWidth: 0 });
  return out;
}
