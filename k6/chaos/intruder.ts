/**
 * intruder: during the fault phase a process holding a valid mesh
 * certificate for notifications — an identity mesh/policy.yaml lets call
 * nobody — calls payments (GET /payments/:orderId) and catalog's
 * reservation route (POST /reservations). The runner hands k6
 * notifications' own certificate, and runs the other personas itself for
 * the whole drill (local/src/drill/intruder-personas.ts; k6 presents one
 * certificate to every host): a process without any certificate trying the
 * same, and one with orders' certificate — an allowed caller of catalog —
 * sending catalog what its edge's rules do not allow (POST /products,
 * GET /metrics).
 *
 * Hypothesis: every attempt is refused (403 MESH_ERR_FORBIDDEN with a
 * certificate; no HTTP answer at all without one — the runner's checks);
 * every refusal is counted in bw_authz_denied_total (source notifications
 * here, none and orders in the runner; read from Prometheus before and after); the
 * shop's own traffic through the gateway stays served ≥ 99.5 % in every
 * phase.
 */

import { sleep } from 'k6';
import http from 'k6/http';
import { Rate } from 'k6/metrics';
import { env } from '../lib/config.ts';
import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { readsHold, shopTraffic } from './lib/traffic.ts';

const refused = new Rate('intruder_refused');
const counted = new Rate('intruder_refusals_counted');
const TAGS = { tags: { route: 'intruder', name: 'intruder' } };
const PROMETHEUS_SCRAPE_WAIT_S = 12; // Prometheus scrapes every 5 s: two scrapes after the last attempt

const drill = defineDrill({
  phases: {
    short: { steady: '10s', fault: '15s', recovery: '20s' },
  },
  traffic: {
    shop: 10,
    // One VU, so that it knows how many attempts it made (k6 metrics cannot be read back).
    intruder: (s) => ({
      executor: 'per-vu-iterations',
      exec: 'intruder',
      vus: 1,
      iterations: 1,
      startTime: `${s.steadyMs}ms`,
      maxDuration: `${s.faultMs + (PROMETHEUS_SCRAPE_WAIT_S + 30) * 1000}ms`,
    }),
  },
  routes: JOURNEY_ROUTES,
  hypotheses: [...everyPhase(JOURNEY_ROUTES, { metric: 'served', threshold: 'rate>=0.995' })],
  thresholds: { intruder_refused: ['rate==1'], intruder_refusals_counted: ['rate==1'] },
  maxTimeToRecoverMs: 15_000,
  needs: ['catalog', 'payments', 'gateway-1', 'gateway-2'],
  steadyState: () => readsHold(5, 1_000),
  faults: [], // the intrusion is k6's own `intruder` scenario, in the fault phase
  recovered: () => readsHold(5, 1_000),
});

/** The sum of bw_authz_denied_total for one source, from Prometheus (NaN when it cannot be read). */
function deniedTotal(source: string): number {
  const rw = env('K6_PROMETHEUS_RW_SERVER_URL');
  if (rw === undefined) return Number.NaN;
  const base = rw.replace(/\/api\/v1\/write$/, '');
  const q = encodeURIComponent(`sum(bw_authz_denied_total{source="${source}"}) or vector(0)`);
  const res = http.get(`${base}/api/v1/query?query=${q}`, { tags: { route: 'probe', name: 'probe' } });
  if (res.status !== 200) return Number.NaN;
  const v = (res.json() as { data?: { result?: { value?: [number, string] }[] } }).data?.result?.[0]
    ?.value?.[1];
  return v === undefined ? Number.NaN : Number(v);
}

export function intruder(): void {
  const payments = env('PAYMENTS_URL');
  const catalog = env('CATALOG_URL');
  if (payments === undefined || catalog === undefined)
    throw new Error('PAYMENTS_URL and CATALOG_URL must be set');
  const faultMs = drill.schedule.faultMs;
  const before = deniedTotal('notifications');
  let attempts = 0;
  const targets = [
    { method: 'GET', url: `${payments}/payments/00000000-0000-4000-8000-000000000000`, body: null },
    {
      method: 'POST',
      url: `${catalog}/reservations`,
      body: JSON.stringify({
        orderId: '00000000-0000-4000-8000-000000000000',
        items: [{ productId: 'sku-0001', quantity: 1 }],
      }),
    },
  ];
  const params = { ...TAGS, headers: { 'content-type': 'application/json' } };
  const end = Date.now() + faultMs;
  while (Date.now() < end) {
    for (const t of targets) {
      // With notifications' certificate: authenticated, not authorized.
      const r = http.request(t.method, t.url, t.body, params);
      attempts++;
      refused.add(r.status === 403 && String(r.body).includes('MESH_ERR_FORBIDDEN'));
    }
    sleep(0.25);
  }
  sleep(PROMETHEUS_SCRAPE_WAIT_S);
  const delta = deniedTotal('notifications') - before;
  counted.add(delta >= attempts);
  console.log(`[intruder] attempts with notifications' certificate ${attempts}, counted ${delta}`);
}

export const { options, setup, chaos, teardown } = drill;
export const shop = shopTraffic();
