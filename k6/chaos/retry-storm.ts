/**
 * retry-storm: catalog's fault filter fails 50 % of its requests (503) for
 * the fault phase.
 *
 * Hypothesis: the load catalog receives stays within the retry budget — the
 * runner compares the tries catalog counted (its own
 * bw_http_server_request_duration_seconds counts, read before and after the
 * fault) with the requests offered to it and what the callers' budgets allow
 * (see local/src/drill/derived-checks.ts); no request hangs (p99 under the
 * route deadline); reads are fine before and after.
 */

import http from 'k6/http';
import { env } from '../lib/config.ts';
import { catalogWithinDeadline, defineDrill, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { catalogReceived, elapsedMs, faultWindowMs, meshFault } from './lib/drill.ts';
import { readsHold, shopTraffic } from './lib/traffic.ts';

/** Requests catalog's server has counted so far (every route, every status). */
function catalogCount(): number {
  const url = env('CATALOG_URL');
  if (url === undefined) throw new Error('CATALOG_URL is not set (the runner passes catalog’s URL)');
  const res = http.get(`${url}/metrics`, { tags: { route: 'probe', name: 'probe' } });
  let n = 0;
  for (const line of String(res.body).split('\n')) {
    if (line.startsWith('bw_http_server_request_duration_seconds_count')) n += Number(line.split(' ').pop());
  }
  return n;
}

const drill = defineDrill({
  phases: {
    short: { steady: '10s', fault: '20s', recovery: '15s' },
  },
  traffic: { shop: 10 },
  routes: JOURNEY_ROUTES,
  hypotheses: [
    ...catalogWithinDeadline(),
    { metric: 'http_req_duration', phase: 'fault', route: 'orders_create', threshold: 'p(99)<5100' },
  ],
  thresholds: { catalog_received: ['count>=0'], fault_window_ms: ['count>=0'] },
  maxTimeToRecoverMs: 15_000,
  needs: ['catalog', 'orders', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(5, 1_000),
  faults: [
    {
      fault: meshFault('abort-50pct', 'catalog', {
        id: 'drill-abort',
        match: { pathPrefix: '/' },
        abort: { percent: 50, status: 503 },
      }),
    },
  ],
  recovered: () => readsHold(10, 1_000),
  // What catalog counted while the fault was in force, and for how long (the runner's budget check).
  hooks: () => {
    let before = 0;
    let at = 0;
    return {
      afterInject: () => {
        before = catalogCount();
        at = elapsedMs();
      },
      beforeUndo: () => {
        catalogReceived.add(catalogCount() - before);
        faultWindowMs.add(elapsedMs() - at);
      },
    };
  },
});

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic();
