/**
 * `node local/src/warm.ts [supervisor entry]`: fills the caches a start
 * needs, in this short-lived process (which may load esbuild and the
 * TypeScript stripper) rather than in the platform's long-lived ones: the
 * bundle cache (every service, gateway and supervisor process,
 * bundle-cache.ts) and — only when the bundles cannot be built, so every
 * process runs its sources — the strip cache (strip-cache.mjs). scripts/bw
 * start and the drill runner call it; a start that finds the bundles missing
 * calls it too. Given the supervisor's entry (repo-relative), it prints the
 * arguments to run it with, one a line (`nodeArgs`): scripts/bw execs node
 * with them.
 */
import { warmBundles } from './bundle-cache.ts';
import { nodeArgs } from './node-flags.ts';
import { warmStripCache } from './strip-cache.mjs';

/** Fills the bundle cache, or the strip cache for the sources when a bundle fails; says on stderr what it had to do. */
export async function warmCaches(root?: string): Promise<void> {
  const started = performance.now();
  try {
    const { built } = await warmBundles(root);
    if (built) process.stderr.write(`bundles: built in ${Math.round(performance.now() - started)} ms\n`);
  } catch (err) {
    const { stripped, cached } = warmStripCache(root);
    if (stripped > 0) process.stderr.write(`strip cache: ${stripped} file(s) stripped, ${cached} cached\n`);
    throw err;
  }
}

if (import.meta.main) {
  try {
    await warmCaches();
  } catch (err) {
    // A source esbuild cannot build (a syntax error, say): the start goes on from the
    // sources, and Node names the error in the process that has it.
    process.stderr.write(`warm: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
  const entry = process.argv[2];
  if (entry !== undefined) process.stdout.write(`${nodeArgs('supervisor', entry).join('\n')}\n`);
}
