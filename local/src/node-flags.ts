/**
 * The one place that says how the platform's Node processes are started:
 * the flags before the main file, per kind of process. Every flag here was
 * chosen by measurement (`npm run bench -- footprint` and `-- gateway`;
 * figures in README "Benchmarks"):
 *
 * - Services, gateways and the supervisor run their bundle (`nodeArgs`;
 *   bundle-cache.ts): one precompiled ESM file per entry, ~55 % less CPU
 *   to load than the module graph file by file. Without
 *   `--enable-source-maps`, which costs
 *   +8 MiB RSS per process: bundle-stack-traces.ts maps stack frames to the
 *   `.ts` files when a stack is formatted.
 * - `--import strip-cache-register.mjs` (a process whose bundle could not
 *   be built): `.ts` modules come from the strip cache, so
 *   no process carries Node's TypeScript stripper (~14 MiB PSS each;
 *   strip-cache.mjs says why and how).
 * - `--max-semi-space-size` (MiB): V8 grows each of the young generation's
 *   semi-spaces up to 16 MiB under allocation and keeps them; start-up alone
 *   (compiling the modules) grows them. Measured on the services' imports:
 *   1 MiB instead of the default took ~18 MiB off each process's RSS idle
 *   (2 MiB: ~16, 4 MiB: ~13). The services answer tens of requests a second
 *   locally, so small semi-spaces cost them only a few more (shorter)
 *   scavenges. The gateway allocates per request at thousands a second: at
 *   4 MiB its profile at peak showed GC at ~14 % of busy time against ~8 %
 *   with the default, so it keeps 8 MiB (a gateway at peak: ~170 MiB RSS
 *   against ~250 MiB with the default, ~160 MiB at 4).
 */
import path from 'node:path';
import { bundleOf } from './bundle-cache.ts';

/** The kinds of Node process the platform runs. */
export type NodeProcessKind = 'gateway' | 'service' | 'supervisor';

const REGISTER = path.join(import.meta.dirname, 'strip-cache-register.mjs');

/** Semi-space cap per kind, MiB (V8's default on 64-bit: up to 16). */
export const SEMI_SPACE_MIB: Readonly<Record<NodeProcessKind, number>> = Object.freeze({
  gateway: 8,
  service: 1,
  supervisor: 1,
});

/** The flags to put before a Node process's main file. */
export function nodeFlags(kind: NodeProcessKind): string[] {
  return ['--import', REGISTER, `--max-semi-space-size=${SEMI_SPACE_MIB[kind]}`];
}

/**
 * The arguments after `node` for a platform process whose entry is `main`
 * (repo-relative): its bundle with the kind's heap flag, or — when no bundle
 * could be built — the source through the strip cache, so Node reports the
 * source's own error.
 */
export function nodeArgs(kind: NodeProcessKind, main: string, root?: string): string[] {
  const bundle = bundleOf(main, root);
  return bundle ? [`--max-semi-space-size=${SEMI_SPACE_MIB[kind]}`, bundle] : [...nodeFlags(kind), main];
}
