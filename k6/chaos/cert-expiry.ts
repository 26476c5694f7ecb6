/**
 * cert-expiry: workload certificates live one minute under load — 10 s in
 * the short form (the CA re-issues every certificate with that lifetime at
 * setup; each is renewed at half-life, so every process rotates during the
 * steady phase: once in the full form, twice in the short one), then the
 * CA refuses to renew catalog's certificate for the fault phase: it expires,
 * and catalog's mTLS peers (the gateways, orders) refuse it — they fail
 * closed ("certificate has expired" in their logs and connect errors) —
 * while the drill measures how the rest of the shop degrades. At the fault's
 * end the CA renews catalog at once; the time to recover is reported.
 *
 * Hypothesis: rotation costs nothing — every journey route served 100 % in
 * the steady phase (which holds a rotation of every process); catalog's
 * certificate really expired in the fault phase (the CA's own record), and
 * the shop recovers within 20 s of the renewal (10 s in the short form). The fault phase itself is
 * measured (served per route), not judged: a shop that cannot authenticate
 * catalog cannot read it, and stale-if-error decides what readers still see.
 */

import { Rate } from 'k6/metrics';
import { defineDrill, JOURNEY_ROUTES } from './lib/define-drill.ts';
import { control, sleepUntil } from './lib/drill.ts';
import { isShort, orderCompletes, readsHold, shopTraffic } from './lib/traffic.ts';

// The short form (CI: at most 60 s a drill) scales the lifetimes down, not the proof:
// the CA's shortest lifetime (10 s) rotates every process twice in a 12 s steady phase.
const LIFETIME_S = isShort() ? 10 : 60;
const DEFAULT_LIFETIME_S = 3_600;
const VICTIM = 'catalog';
const expired = new Rate('victim_certificate_expired');

interface CaStatus {
  identities: { name: string; notAfter: string; refused: boolean }[];
}

const drill = defineDrill({
  phases: {
    // Steady: a renewal of every certificate at half-life (30 s; short: 5 s and 10 s);
    // fault: long enough for catalog's last certificate to run out (at most one
    // lifetime after the refusal) and its callers to be refused a while.
    full: { steady: '45s', fault: '90s', recovery: '45s' },
    short: { steady: '12s', fault: '15s', recovery: '12s' },
  },
  traffic: { shop: 6 },
  routes: JOURNEY_ROUTES,
  hypotheses: JOURNEY_ROUTES.map((route) => ({
    metric: 'served' as const,
    phase: 'steady' as const,
    route,
    threshold: 'rate==1',
  })),
  thresholds: { victim_certificate_expired: ['rate==1'] },
  maxTimeToRecoverMs: isShort() ? 10_000 : 20_000,
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
