/**
 * `npm run k8s:check [overlay...]`: the check `npm test` runs, on its own —
 * a local etcd + kube-apiserver (v1.34, no nodes) with the real CRDs, and
 * every overlay (or the ones named) applied server-side to it. Prints one
 * line per overlay and step, and every object the server refused with its
 * message; exits 1 when any was refused, 2 on bad input.
 */

import { ApiServerCheck } from './api-server-check.ts';
import { overlayNames } from './manifests.ts';

const known = overlayNames();
const asked = process.argv.slice(2).filter((a) => a !== '--');
const unknown = asked.filter((a) => !known.includes(a));
if (unknown.length > 0) {
  console.error(`k8s:check: unknown overlay ${unknown.join(', ')}; the overlays are: ${known.join(', ')}`);
  process.exit(2);
}
const overlays = asked.length > 0 ? asked : known;

const started = Date.now();
const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const check = await ApiServerCheck.start();
let refused = 0;
try {
  // module@version of each CRD source: istio.io/api@v1.28.0/kubernetes/… → istio.io/api@v1.28.0
  const modules = [...new Set(check.crds.map((c) => c.slice(0, c.indexOf('/', c.indexOf('@')))))];
  console.log(`kube-apiserver ${check.server.url} up (${seconds(started)}); CRDs of ${modules.join(', ')}`);
  for (const overlay of overlays) {
    const t = Date.now();
    const result = await check.checkOverlay(overlay);
    const lines = result.steps.map((s) => `${s.step} ${s.objects - s.refused.length}/${s.objects}`);
    console.log(
      `${overlay}: ${result.objects} objects, ${result.pods} pods; ${lines.join(', ')} accepted (${seconds(t)})`,
    );
    for (const s of result.steps)
      for (const r of s.refused) {
        refused++;
        console.log(`  refused (${s.step}): ${r.object}: ${r.message}`);
      }
  }
} finally {
  await check.stop();
}
console.log(
  refused === 0
    ? `k8s:check: every object of ${overlays.join(', ')} accepted (${seconds(started)})`
    : `k8s:check: ${refused} refusals (${seconds(started)})`,
);
process.exitCode = refused === 0 ? 0 : 1;
