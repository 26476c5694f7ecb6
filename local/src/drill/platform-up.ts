/**
 * `up` with the fault controller plugged in, as its own process: what the
 * drill runner starts in the background when no platform is up.
 *
 *   node local/src/drill/platform-up.ts            # BW_RUN_DIR, BW_GATEWAY_PORT, BW_PROMETHEUS_PORT
 */
import path from 'node:path';
import { faultControllerPlugin } from '../faults/fault-plugin.ts';
import { up } from '../up.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');

function port(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    process.stderr.write(`${name} must be a port number 0-65535 (got "${raw}")\n`);
    process.exit(1);
  }
  return n;
}

if (import.meta.main) {
  const runDir = path.resolve(process.env.BW_RUN_DIR ?? path.join(ROOT, '.run'));
  const gatewayPort = port('BW_GATEWAY_PORT');
  const prometheusPort = port('BW_PROMETHEUS_PORT');
  up({
    root: ROOT,
    runDir,
    ...(gatewayPort !== undefined ? { gatewayPort } : {}),
    ...(prometheusPort !== undefined ? { prometheusPort } : {}),
    plugins: [faultControllerPlugin],
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
