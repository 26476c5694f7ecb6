/**
 * Smoke: a couple of journeys per second for 30 s — is the platform up and
 * answering the contract? Run it before anything heavier.
 *
 *   k6 run k6/load/smoke.ts                       # against http://127.0.0.1:8080
 *   k6 run -e BASE_URL=https://shop.example -e API_KEY=… k6/load/smoke.ts
 *
 * Overrides: RATE, PEAK_RATE, DURATION, RAMP, MAX_VUS, ORDER_SHARE,
 * LATENCY_SCALE, MAX_FAILURE_RATE, PHASES (see k6/README.md).
 */

import type { Options } from 'k6/options';
import { shopJourney } from '../lib/journey.ts';
import { installResponseCallback } from '../lib/outcome.ts';
import { usePhases } from '../lib/phases.ts';
import { JOURNEY_ROUTES, loadThresholds, profile } from '../lib/profiles.ts';
import { shopApi } from '../lib/shop-api.ts';

const p = profile('smoke');
usePhases(p.phases);
installResponseCallback();

export const options: Options = {
  scenarios: { smoke: p.scenario },
  thresholds: loadThresholds(p, ['shop_page', ...JOURNEY_ROUTES]),
};

const api = shopApi();

export function journey(): void {
  api.shopPage();
  shopJourney(api);
}
