/**
 * What the drill runner starts in the background when no platform is up:
 * exactly `node local/src/cli.ts up` (which carries the fault controller), so
 * a drill runs against the same platform `npm start` brings up. It reads the
 * same environment: BW_RUN_DIR, BW_GATEWAY_PORT, BW_PROMETHEUS_PORT,
 * BW_GATEWAY_CONFIG, BW_REPLICAS — plus BW_DRILL_DISCOVERY=true
 * (`--discovery`), which the runner sets for drills that scale the run.
 */
import { main } from '../cli.ts';
import { runCli } from '../run-cli.ts';

const args = ['up', ...(process.env.BW_DRILL_DISCOVERY === 'true' ? ['--discovery'] : [])];

if (import.meta.main) runCli(() => main(args));
