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

import type { Options } from 'k6/options';
import { shopJourney } from '../lib/journey.ts';
import { installResponseCallback } from '../lib/outcome.ts';
import { usePhases } from '../lib/phases.ts';
import { loadThresholds, profile } from '../lib/profiles.ts';
import { shopApi } from '../lib/shop-api.ts';

const p = profile('stress');
usePhases(p.phases);
installResponseCallback();

export const options: Options = {
  scenarios: { stress: p.scenario },
  thresholds: loadThresholds(p),
};

const api = shopApi();

export function journey(): void {
  shopJourney(api);
}
