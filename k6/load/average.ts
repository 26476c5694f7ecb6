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

import type { Options } from 'k6/options';
import { shopJourney } from '../lib/journey.ts';
import { installResponseCallback } from '../lib/outcome.ts';
import { usePhases } from '../lib/phases.ts';
import { loadThresholds, profile } from '../lib/profiles.ts';
import { shopApi } from '../lib/shop-api.ts';

const p = profile('average');
usePhases(p.phases);
installResponseCallback();

export const options: Options = {
  scenarios: { average: p.scenario },
  thresholds: loadThresholds(p),
};

const api = shopApi();

export function journey(): void {
  shopJourney(api);
}
