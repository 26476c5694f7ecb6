/**
 * `node local/src/warm.ts`: fills the caches a start needs, in this
 * short-lived process (which may load the TypeScript stripper and esbuild)
 * rather than in the platform's long-lived ones: the strip cache (the
 * supervisor's modules, strip-cache.mjs) and the bundle cache (every service
 * and gateway process, bundle-cache.ts). scripts/bw start and the drill
 * runner call it; a start that finds a cache cold calls it too.
 */
import { warmBundles } from './bundle-cache.ts';
import { warmStripCache } from './strip-cache.mjs';

/** Fills both caches; says on stderr what it had to do. */
export async function warmCaches(root?: string): Promise<void> {
  const { stripped, cached } = warmStripCache(root);
  if (stripped > 0) process.stderr.write(`strip cache: ${stripped} file(s) stripped, ${cached} cached\n`);
  const started = performance.now();
  const { built } = await warmBundles(root);
  if (built) process.stderr.write(`bundles: built in ${Math.round(performance.now() - started)} ms\n`);
}

if (import.meta.main) {
  try {
    await warmCaches();
  } catch (err) {
    process.stderr.write(`warm: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
