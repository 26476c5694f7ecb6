/**
 * `npm run render` for the cluster deployment: writes k8s/base and the
 * rendered parts of the components from k8s/src, mesh/policy.yaml,
 * gateway/gateway.yaml (through the gateway's own loader and renderer
 * outputs) and observability/. `--check` writes nothing and exits 1 when a
 * checked-in file differs from a fresh render.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderK8sFiles } from './src/files.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, content] of Object.entries(renderK8sFiles(root))) {
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
