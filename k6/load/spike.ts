/**
 * Spike: a sudden jump from RATE to PEAK_RATE (default 10x) and back. Rate
 * limits and fast 503s are expected at the top (counted as degraded); failures
 * are not, and the 'after' phase must look like the 'before' one.
 *
 *   k6 run k6/load/spike.ts                       # against http://127.0.0.1:8080
 *   k6 run -e BASE_URL=https://shop.example -e API_KEY=… k6/load/spike.ts
 *
 * Overrides: RATE, PEAK_RATE, DURATION, RAMP, MAX_VUS, ORDER_SHARE,
 * LATENCY_SCALE, MAX_FAILURE_RATE, PHASES (see k6/README.md).
 */

import { loadScript } from '../lib/load-script.ts';

const script = loadScript('spike');
export const options = script.options;
export const journey = script.journey;
