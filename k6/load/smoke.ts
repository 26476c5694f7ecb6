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

import { shopJourney } from '../lib/journey.ts';
import { loadScript } from '../lib/load-script.ts';
import { JOURNEY_ROUTES } from '../lib/profiles.ts';

// The smoke run also loads the shop page, and holds it to a latency threshold.
const script = loadScript('smoke', {
  routes: ['shop_page', ...JOURNEY_ROUTES],
  journey: (api) => {
    api.shopPage();
    shopJourney(api);
  },
});
export const options = script.options;
export const journey = script.journey;
