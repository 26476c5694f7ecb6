/**
 * cert-expiry: workload certificates live one minute under load (the CA
 * re-issues every certificate with a 60 s lifetime at setup; each is renewed
 * at half-life, so every process rotates during the steady phase), then the
 * CA refuses to renew catalog's certificate for the fault phase: it expires,
 * and catalog's mTLS peers (the gateways, orders) refuse it — they fail
 * closed ("certificate has expired" in their logs and connect errors) —
 * while the drill measures how the rest of the shop degrades. At the fault's
 * end the CA renews catalog at once; the time to recover is reported.
 *
 * Hypothesis: rotation costs nothing — every journey route served 100 % in
 * the steady phase (which holds a rotation of every process); catalog's
 * certificate really expired in the fault phase (the CA's own record), and
 * the shop recovers within 20 s of the renewal. The fault phase itself is
 * measured (served per route), not judged: a shop that cannot authenticate
 * catalog cannot read it, and stale-if-error decides what readers still see.
 */

import { Rate } from 'k6/metrics';
import { defineDrill, everyPhase, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { control, sleepUntil } from './lib/drill.ts';
import { orderCompletes, readsHold, shopTraffic } from './lib/traffic.ts';

const LIFETIME_S = 60;
const DEFAULT_LIFETIME_S = 3_600;
const VICTIM = 'catalog';
const expired = new Rate('victim_certificate_expired');

interface CaStatus {
  identities: { name: string; notAfter: string; refused: boolean }[];
}

const drill = defineDrill({
  phases: {
    // Steady: one renewal of every certificate (at 30 s); fault: long enough for
    // catalog's last certificate to run out (≤ 60 s after the refused renewal is due).
    full: { steady: '45s', fault: '90s', recovery: '45s' },
    short: { steady: '40s', fault: '75s', recovery: '25s' },
  },
  traffic: { shop: 6 },
  routes: JOURNEY_ROUTES,
  hypotheses: [
    ...everyPhase(JOURNEY_ROUTES, { metric: 'served', threshold: 'rate==1' }).filter(
      (h) => h.phase === 'steady',
    ),
  ],
  thresholds: { victim_certificate_expired: ['rate==1'] },
  maxTimeToRecoverMs: 20_000,
  needs: ['catalog', 'orders', 'gateway-1', 'gateway-2'],
  steadyState: () => {
    if (!readsHold(5, 1_000)) return false;
    control('POST', '/v1/ca/lifetime', { seconds: LIFETIME_S });
    return true;
  },
  faults: [], // the fault is the CA's refusal, below
  recovered: () => readsHold(3, 1_000) && orderCompletes(5_000),
  hooks: () => ({
    beforeUndo: () => {
      const ca = control('GET', '/v1/ca') as CaStatus;
      const victim = ca.identities.find((i) => i.name === VICTIM);
      expired.add(victim !== undefined && Date.parse(victim.notAfter) < Date.now());
      control('POST', '/v1/ca/refuse', { identity: VICTIM, refuse: false });
    },
  }),
});

export const { options, setup } = drill;
export const shop = shopTraffic();

/** The refusal at the fault's start, then the common schedule (renewal at its end, time to recover). */
export function chaos(): void {
  sleepUntil(drill.schedule.steadyMs);
  control('POST', '/v1/ca/refuse', { identity: VICTIM, refuse: true });
  drill.chaos();
}

export function teardown(): void {
  try {
    control('POST', '/v1/ca/refuse', { identity: VICTIM, refuse: false });
  } finally {
    control('POST', '/v1/ca/lifetime', { seconds: DEFAULT_LIFETIME_S });
    drill.teardown();
  }
}
