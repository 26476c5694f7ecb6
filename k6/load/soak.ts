/**
 * Short soak: a moderate constant rate for DURATION (default 15m) to surface
 * leaks, pool exhaustion and slow drift that short runs miss.
 *
 *   k6 run k6/load/soak.ts                       # against http://127.0.0.1:8080
 *   k6 run -e BASE_URL=https://shop.example -e API_KEY=… k6/load/soak.ts
 *
 * Overrides: RATE, PEAK_RATE, DURATION, RAMP, MAX_VUS, ORDER_SHARE,
 * LATENCY_SCALE, MAX_FAILURE_RATE, PHASES (see k6/README.md).
 */

import { loadScript } from '../lib/load-script.ts';

const script = loadScript('soak');
export const options = script.options;
export const journey = script.journey;
