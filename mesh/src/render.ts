/**
 * `npm run render` for the mesh: mesh/policy.yaml → NetworkPolicies and
 * Istio resources under k8s/components/. `--check` writes nothing and exits 1
 * when a checked-in file differs from a fresh render.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { renderMeshFiles, REPO_ROOT as root } from './policy/sources.ts';

const check = process.argv.includes('--check');
const files = renderMeshFiles(root);
let stale = 0;
for (const [rel, content] of Object.entries(files)) {
  const abs = resolve(root, rel);
  if (check) {
    let current = '';
    try {
      current = readFileSync(abs, 'utf8');
    } catch {}
    if (current !== content) {
      stale++;
      console.error(`stale: ${rel} (run npm run render)`);
    }
    continue;
  }
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content);
  console.log(`wrote ${rel}`);
}
if (stale > 0) process.exit(1);
