/**
 * Average load: ramp to the everyday rate (RATE, default 20 journeys/s), hold
 * it (DURATION, default 5m), ramp down. The baseline every other profile is
 * compared with.
 *
 *   k6 run k6/load/average.ts                       # against http://127.0.0.1:8080
 *   k6 run -e BASE_URL=https://shop.example -e API_KEY=… k6/load/average.ts
 *
 * Overrides: RATE, PEAK_RATE, DURATION, RAMP, MAX_VUS, ORDER_SHARE,
 * LATENCY_SCALE, MAX_FAILURE_RATE, PHASES (see k6/README.md).
 */

import { loadScript } from '../lib/load-script.ts';

const script = loadScript('average');
export const options = script.options;
export const journey = script.journey;
