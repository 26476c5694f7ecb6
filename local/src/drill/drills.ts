/**
 * The drills: each is a k6 script in k6/chaos/ (phases, fault schedule,
 * thresholds) plus what the runner checks around it (database invariants,
 * checks that need the whole run's numbers) and the dashboard panels its
 * report shows besides the default ones (panels.ts).
 */
import type { SteadyLatencyBound } from './derived-checks.ts';
import type { PanelRef } from './panels.ts';

const resilience = (title: string): PanelRef => ({ dashboard: 'resilience', title });
const events = (title: string): PanelRef => ({ dashboard: 'events', title });
const gateway = (title: string): PanelRef => ({ dashboard: 'gateway', title });

export interface DrillSpec {
  readonly name: string;
  readonly script: string;
  readonly summary: string;
  /** Places orders: the database invariants then also cover order flow. */
  readonly orders: boolean;
  /** How long orders may take to settle after the drill (ms). */
  readonly settleMs?: number;
  /** Also check the event streams after the drill (groups there, nothing pending or dead-lettered). */
  readonly streams?: boolean;
  /** Checks computed from the summary after the run (see derived-checks.ts). */
  readonly derived?: readonly ('retry-budget' | 'victim-latency')[];
  /**
   * Instances the drill needs per service (`{ catalog: 3 }`): the runner
   * starts its platform with them (discovery on), or scales a live run up to
   * them before the drill (a run without discovery is refused).
   */
  readonly replicas?: Readonly<Record<string, number>>;
  /**
   * A latency figure of the fault phase that must stay within `factor` × the
   * same figure of the steady phase (+ `plusMs`), per route.
   */
  readonly steadyLatency?: SteadyLatencyBound;
  /** Dashboard panels the report shows after the default set (breaker state, retries and budget, outbox backlog, stream lag). */
  readonly panels?: readonly PanelRef[];
  /**
   * The mesh identity (ServiceAccount) whose certificate k6 presents to
   * 127.0.0.1 when the run has mTLS (default prometheus, which may read /metrics).
   */
  readonly clientIdentity?: string;
  /**
   * Beside k6, processes calling these services' routes for the whole drill
   * (intruder-personas.ts): without `identity` with no certificate at all,
   * with it presenting that run process's own certificate.
   */
  readonly intruders?: readonly {
    identity?: string;
    targets: readonly { service: string; method: string; path: string; body?: string }[];
  }[];
}

/** mTLS drills (the run must have its CA: not with --plaintext). */
export const MTLS_DRILLS: readonly DrillSpec[] = [
  {
    name: 'intruder',
    script: 'k6/chaos/intruder.ts',
    summary:
      "notifications' valid certificate and no certificate call payments and catalog, orders' certificate catalog's routes outside its rules: 100 % refused and counted; shop served ≥ 99.5 %",
    orders: true,
    clientIdentity: 'notifications',
    intruders: [
      {
        targets: [
          { service: 'payments', method: 'GET', path: '/payments/00000000-0000-4000-8000-000000000000' },
          {
            service: 'catalog',
            method: 'POST',
            path: '/reservations',
            body: '{"orderId":"00000000-0000-4000-8000-000000000000","items":[{"productId":"sku-0001","quantity":1}]}',
          },
        ],
      },
      {
        // An allowed caller outside its edge's rules (orders -> catalog: reservations and GET /products only).
        identity: 'orders',
        targets: [
          { service: 'catalog', method: 'POST', path: '/products', body: '{}' },
          { service: 'catalog', method: 'GET', path: '/metrics' },
        ],
      },
    ],
  },
  {
    name: 'cert-expiry',
    script: 'k6/chaos/cert-expiry.ts',
    summary:
      "certificates live 60 s under load (short form: 10 s; rotation: served 100 %); the CA refuses catalog's renewal until it expires; recovery after renewal < 20 s (short: 10 s)",
    orders: true,
    settleMs: 60_000,
  },
];

export const DRILLS: readonly DrillSpec[] = [
  {
    name: 'payments-outage',
    script: 'k6/chaos/payments-outage.ts',
    summary:
      'payments killed; catalog reads ≥ 99.5 %, orders accepted ≥ 99 %; every accepted order final after restart',
    orders: true,
    settleMs: 60_000,
    panels: [events('Events handled, by outcome')],
  },
  {
    name: 'catalog-latency',
    script: 'k6/chaos/catalog-latency.ts',
    summary:
      '2 s added to catalog; answers within the route deadline, product reads served stale ≥ 95 %, breaker closed within 1 s after',
    orders: true,
    panels: [resilience('Call outcomes'), resilience('Cache look-ups'), resilience('Breaker transitions')],
  },
  {
    name: 'catalog-db-outage',
    script: 'k6/chaos/catalog-db-outage.ts',
    summary: "catalog's PostgreSQL stopped; product reads served from cache (stale) ≥ 99 %",
    orders: true,
    panels: [resilience('Cache look-ups')],
  },
  {
    name: 'redis-outage',
    script: 'k6/chaos/redis-outage.ts',
    summary:
      'Redis stopped; browsing and ordering ≥ 99 %, gateway fails open; outbox drains, every order completes',
    orders: true,
    settleMs: 60_000,
    panels: [gateway('Fail-open and fail-closed decisions, by route and consumer')],
  },
  {
    name: 'worker-crash',
    script: 'k6/chaos/worker-crash.ts',
    summary:
      'payments and notifications SIGKILLed mid-stream and restarted; no duplicate charge, no missing notification',
    orders: true,
    settleMs: 75_000,
    panels: [events('Pending entries'), events('Reclaimed entries')],
  },
  {
    name: 'db-crash',
    script: 'k6/chaos/db-crash.ts',
    summary:
      'pg-orders then pg-payments SIGKILLed under order load and restarted; every 202 stored, no payment without its order',
    orders: true,
    settleMs: 60_000,
    streams: true,
    panels: [events('Pending entries')],
  },
  {
    name: 'redis-crash',
    script: 'k6/chaos/redis-crash.ts',
    summary:
      'redis-server SIGKILLed under load and restarted; every order completes, consumer groups and pending entries intact',
    orders: true,
    settleMs: 60_000,
    streams: true,
    panels: [events('Pending entries')],
  },
  {
    name: 'catalog-pause',
    script: 'k6/chaos/catalog-pause.ts',
    summary: "catalog paused 6 s (SIGSTOP); the gateway's breaker closes within 1 s of the resume",
    orders: true,
    panels: [resilience('Call outcomes')],
  },
  {
    name: 'noisy-neighbour',
    script: 'k6/chaos/noisy-neighbour.ts',
    summary:
      "one consumer floods at 10× its limit; the other's success ≥ 99.5 %, p95 within its baseline's margin",
    orders: false,
    derived: ['victim-latency'],
    panels: [gateway('429 rate limited, by route and consumer')],
  },
  {
    name: 'retry-storm',
    script: 'k6/chaos/retry-storm.ts',
    summary: 'catalog fails 50 % of requests; the load catalog receives stays within the retry budget',
    orders: true,
    derived: ['retry-budget'],
    panels: [resilience('Retry ratio'), resilience('Faults injected by the fault filter')],
  },
  {
    name: 'gateway-rolling-restart',
    script: 'k6/chaos/gateway-rolling-restart.ts',
    summary: 'the two gateway processes restarted one at a time under load, each draining; no request fails',
    orders: true,
  },
  {
    name: 'bad-replica',
    script: 'k6/chaos/bad-replica.ts',
    summary:
      'one of three catalog instances answers 500 to half its requests; the gateway ejects it within two outlier intervals, product reads ≥ 99.5 %, p99 within 1.5× steady + 50 ms; back in rotation after',
    orders: false,
    replicas: { catalog: 3 },
    // + 50 ms, as noisy-neighbour's margin: a short steady phase's p99 is its slowest few
    // requests, and one scheduling stall on a shared machine moves it (measured: 51 ms steady,
    // 107 ms in the fault with the instance ejected after 1.1 s).
    steadyLatency: { stat: 'p(99)', factor: 1.5, plusMs: 50, routes: ['catalog_list', 'catalog_product'] },
  },
  {
    name: 'slow-replica',
    script: 'k6/chaos/slow-replica.ts',
    summary:
      'one of three orders instances adds 1 s to every order; least_request steers away (it serves < 25 % of the orders, round_robin a third), orders served ≥ 99.5 %',
    orders: true,
    replicas: { orders: 3 },
  },
  {
    name: 'replica-crash',
    script: 'k6/chaos/replica-crash.ts',
    summary:
      'one of two orders instances SIGKILLed under order load; retries land on the other, orders accepted ≥ 99.5 %, invariants hold',
    orders: true,
    replicas: { orders: 2 },
  },
  {
    name: 'rolling-deploy',
    script: 'k6/chaos/rolling-deploy.ts',
    summary:
      'catalog (3) and orders (2) rolled out side by side under load, old instances drained; no request fails or reaches a leaving instance, invariants hold',
    orders: true,
    replicas: { catalog: 3, orders: 2 },
  },
  ...MTLS_DRILLS,
];

/** The most instances any of `drills` needs per service (what a platform for all of them starts with). */
export function replicasFor(drills: readonly DrillSpec[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of drills)
    for (const [service, n] of Object.entries(d.replicas ?? {}))
      out[service] = Math.max(out[service] ?? 1, n);
  return out;
}

export function drillByName(name: string): DrillSpec | undefined {
  return DRILLS.find((d) => d.name === name);
}
