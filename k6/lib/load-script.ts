/**
 * What every script in k6/load is: one load profile's arrival-rate scenario
 * and thresholds, the phase tags and the response classification installed,
 * and the shop journey as the scenario's `exec`. A script exports the two:
 *
 *   const script = loadScript('average');
 *   export const options = script.options;
 *   export const journey = script.journey;
 */
import type { Options } from 'k6/options';
import { shopJourney } from './journey.ts';
import { installResponseCallback } from './outcome.ts';
import { usePhases } from './phases.ts';
import { type LatencyRoute, loadThresholds, type ProfileName, profile } from './profiles.ts';
import { type ShopApi, shopApi } from './shop-api.ts';

export interface LoadScript {
  options: Options;
  /** The scenario's `exec`: one journey per iteration. */
  journey: () => void;
}

export interface LoadScriptOptions {
  /** Routes with latency thresholds (default: the journey's, JOURNEY_ROUTES). */
  routes?: readonly LatencyRoute[];
  /** One iteration (default: shopJourney). */
  journey?: (api: ShopApi) => void;
}

export function loadScript(name: ProfileName, o: LoadScriptOptions = {}): LoadScript {
  const p = profile(name);
  usePhases(p.phases);
  installResponseCallback();
  const api = shopApi();
  const iteration = o.journey ?? shopJourney;
  return {
    options: { scenarios: { [name]: p.scenario }, thresholds: loadThresholds(p, o.routes) },
    journey: () => iteration(api),
  };
}
