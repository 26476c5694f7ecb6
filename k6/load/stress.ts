/**
 * Stress: 1x, 2x and 3x the base rate (RATE … PEAK_RATE), each held for
 * DURATION, to find where latency bends and degraded answers start.
 *
 *   k6 run k6/load/stress.ts                       # against http://127.0.0.1:8080
 *   k6 run -e BASE_URL=https://shop.example -e API_KEY=… k6/load/stress.ts
 *
 * Overrides: RATE, PEAK_RATE, DURATION, RAMP, MAX_VUS, ORDER_SHARE,
 * LATENCY_SCALE, MAX_FAILURE_RATE, PHASES (see k6/README.md).
 */

import { loadScript } from '../lib/load-script.ts';

const script = loadScript('stress');
export const options = script.options;
export const journey = script.journey;
