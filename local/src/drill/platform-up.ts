/**
 * What the drill runner starts in the background when no platform is up:
 * exactly `node local/src/cli.ts up` (which carries the fault controller), so
 * a drill runs against the same platform `npm start` brings up. It reads the
 * same environment: BW_RUN_DIR, BW_GATEWAY_PORT, BW_PROMETHEUS_PORT,
 * BW_GATEWAY_CONFIG.
 */
import { main } from '../cli.ts';

if (import.meta.main) {
  main(['up']).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
