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

import type { Options } from 'k6/options';
import { shopJourney } from '../lib/journey.ts';
import { installResponseCallback } from '../lib/outcome.ts';
import { usePhases } from '../lib/phases.ts';
import { loadThresholds, profile } from '../lib/profiles.ts';
import { shopApi } from '../lib/shop-api.ts';

const p = profile('spike');
usePhases(p.phases);
installResponseCallback();

export const options: Options = {
  scenarios: { spike: p.scenario },
  thresholds: loadThresholds(p),
};

const api = shopApi();

export function journey(): void {
  shopJourney(api);
}
