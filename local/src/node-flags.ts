/**
 * The one place that says how the platform's Node processes are started:
 * the flags before the main file, per kind of process. Every flag here was
 * chosen by measurement (`npm run bench -- footprint` and `-- gateway`;
 * figures in README "Benchmarks"):
 *
 * - `--import strip-cache-register.mjs`: `.ts` modules come from the strip
 *   cache, so no process carries Node's TypeScript stripper (~14 MiB PSS
 *   each; strip-cache.mjs says why and how).
 * - `--max-semi-space-size` (MiB): V8 grows each of the young generation's
 *   semi-spaces up to 16 MiB under allocation and keeps them; start-up alone
 *   (compiling the modules) grows them. The services answer a few hundred
 *   requests a second at most, so small semi-spaces cost them nothing but
 *   a few more (shorter) scavenges; the gateway, which allocates per request
 *   at thousands a second, keeps a larger one.
 */
import path from 'node:path';

/** The kinds of Node process the platform runs. */
export type NodeProcessKind = 'gateway' | 'service' | 'supervisor';

const REGISTER = path.join(import.meta.dirname, 'strip-cache-register.mjs');

/** Semi-space cap per kind, MiB (V8's default on 64-bit: up to 16). */
export const SEMI_SPACE_MIB: Readonly<Record<NodeProcessKind, number>> = Object.freeze({
  gateway: 4,
  service: 1,
  supervisor: 1,
});

/** The flags to put before a Node process's main file. */
export function nodeFlags(kind: NodeProcessKind): string[] {
  return ['--import', REGISTER, `--max-semi-space-size=${SEMI_SPACE_MIB[kind]}`];
}
