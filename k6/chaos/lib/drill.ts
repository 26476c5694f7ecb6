/**
 * What every chaos drill shares: the phase schedule (steady → fault →
 * recovery), the fault controller client, the steady-state gate, the `served`
 * rate, time to recover, and thresholds per phase and route.
 *
 * A drill script exports (most of them built by `defineDrill`, see
 * define-drill.ts) `options`, `setup`, `chaos` (one VU that injects and
 * undoes the faults on the schedule and then measures time to recover), one
 * or more traffic functions, and `teardown`
 * (undoes every fault of the drill — k6 runs it after a failed threshold and
 * on the first Ctrl-C too; the runner undoes them once more afterwards).
 *
 * Environment (the runner sets all of these):
 *
 * | variable        | meaning                                                        |
 * |-----------------|----------------------------------------------------------------|
 * | `CONTROL_URL`   | the supervisor's control API (fault routes: /v1/faults)        |
 * | `CONTROL_TOKEN` | its bearer token                                               |
 * | `SHORT`         | `true`: the short schedule (CI, each drill well under 90 s)     |
 * | `STEADY`, `FAULT`, `RECOVERY` | phase lengths (k6 durations), override the schedule |
 * | `RATE`          | journeys per second of the main traffic                         |
 * | `BASE_URL`, `API_KEY`, `JWT` | see k6/lib/config.ts                              |
 */

import { sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Rate, Trend } from 'k6/metrics';
import type { Options, Scenario } from 'k6/options';
import { env, envNumber } from '../../lib/config.ts';
import { formatDuration, parseDuration } from '../../lib/duration.ts';
import { installResponseCallback } from '../../lib/outcome.ts';
import { currentPhase, scheduleElapsedMs, usePhases } from '../../lib/phases.ts';
import type { Answer, RouteName, ShopApi } from '../../lib/shop-api.ts';

/** Share of requests that got what they asked for: 2xx, a stale copy, or 202 pending. Tags: route, phase. */
export const served = new Rate('served');
/** Milliseconds from the end of the fault until the hypothesis held again. */
export const timeToRecover = new Trend('time_to_recover', true);
/** 1 when the hypothesis held again before the recovery phase ended. */
export const recovered = new Rate('recovered');
/** 1 when every fault of the schedule was injected (and the hooks ran). */
export const scheduleRan = new Rate('fault_schedule_ran');
/**
 * Milliseconds from the end of a fault on an upstream (the fault
 * controller's `endedAt`) until every gateway's breaker for it is closed
 * again (`bw_breaker_state` read from each gateway process's admin
 * `/metrics` every 50 ms). Prometheus scrapes every 5 s, too coarse for a
 * sub-second figure; the first good answer through the public port is not
 * enough either, as each gateway process has its own breaker.
 */
export const breakerRecoveryMs = new Trend('breaker_recovery_ms', true);
/** 1 when a gateway's breaker for the watched upstream was not closed at the fault's end (it opened). */
export const breakerOpened = new Rate('breaker_opened');
/** Requests catalog's server counted while the fault was in force (retry-storm). */
export const catalogReceived = new Counter('catalog_received');
/** How long the fault was in force, ms (retry-storm: the retry budgets' floors scale with it). */
export const faultWindowMs = new Counter('fault_window_ms');

export interface Schedule {
  readonly steadyMs: number;
  readonly faultMs: number;
  readonly recoveryMs: number;
}

export interface ScheduleSpec {
  readonly steady: string;
  readonly fault: string;
  readonly recovery: string;
}

/** The judged phases. */
export const PHASES = ['steady', 'fault', 'recovery'] as const;
export type PhaseName = (typeof PHASES)[number];
/**
 * The first second after the fault's end is tagged `grace` and judged by no
 * hypothesis: the recovery phase, which every drill judges (served ≥ 99 %
 * on every route, defineDrill), starts 1 s after the fault ends.
 */
export const GRACE_MS = 1_000;
/** Every phase a request can be tagged with, in order. */
export const TAGGED_PHASES = ['steady', 'fault', 'grace', 'recovery'] as const;

/** The schedule: `SHORT=true` picks `short`, and STEADY/FAULT/RECOVERY override either. */
export function schedule(full: ScheduleSpec, short: ScheduleSpec): Schedule {
  const base = env('SHORT') === 'true' ? short : full;
  return {
    steadyMs: parseDuration(env('STEADY') ?? base.steady, 'STEADY'),
    faultMs: parseDuration(env('FAULT') ?? base.fault, 'FAULT'),
    recoveryMs: parseDuration(env('RECOVERY') ?? base.recovery, 'RECOVERY'),
  };
}

export function totalMs(s: Schedule): number {
  return s.steadyMs + s.faultMs + s.recoveryMs;
}

/** Tags every request with the phase of this schedule (see k6/lib/phases.ts). */
export function usePhaseSchedule(s: Schedule): void {
  const grace = Math.min(GRACE_MS, s.recoveryMs);
  usePhases(
    `steady:${formatDuration(s.steadyMs)},fault:${formatDuration(s.faultMs)},grace:${formatDuration(grace)},recovery:${formatDuration(Math.max(1, s.recoveryMs - grace))}`,
  );
}

/** One hypothesis: a threshold on a metric for one phase (and route), e.g. served ≥ 99.5 %. */
export interface Hypothesis {
  readonly metric: 'served' | 'failures' | 'http_req_duration' | 'checks' | 'degraded';
  readonly phase?: PhaseName;
  readonly route?: RouteName;
  /** Extra tag filters (e.g. `consumer: 'bob'`). */
  readonly tags?: Record<string, string>;
  /** k6 threshold expression, e.g. `rate>=0.995`, `p(99)<2100`. */
  readonly threshold: string;
}

export function selector(metric: string, tags: Record<string, string | undefined>): string {
  const parts = Object.entries(tags)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}:${v}`);
  return parts.length === 0 ? metric : `${metric}{${parts.join(',')}}`;
}

/**
 * k6 thresholds from the hypotheses, plus always-true ones on every
 * phase × route so the summary carries their counts and percentiles (k6 only
 * keeps sub-metrics that a threshold names) for the verdict table.
 */
export function drillThresholds(
  hypotheses: readonly Hypothesis[],
  routes: readonly RouteName[],
  extraTags: Record<string, string> = {},
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (key: string, expr: string) => {
    const list = out[key] ?? [];
    if (!list.includes(expr)) list.push(expr);
    out[key] = list;
  };
  for (const phase of TAGGED_PHASES) {
    for (const route of routes) {
      const tags = { ...extraTags, phase, route };
      add(selector('http_reqs', tags), 'count>=0');
      add(selector('http_req_duration', tags), 'p(95)>=0');
      add(selector('served', tags), 'rate>=0');
      add(selector('failures', tags), 'rate>=0');
      add(selector('degraded', tags), 'count>=0');
    }
  }
  for (const h of hypotheses)
    add(selector(h.metric, { ...h.tags, phase: h.phase, route: h.route }), h.threshold);
  add('time_to_recover', 'max>=0');
  add('fault_schedule_ran', 'rate==1');
  return out;
}

export interface DrillOptionsInput {
  readonly schedule: Schedule;
  /** Traffic scenarios (exec names exported by the script); the chaos scenario is added. */
  readonly traffic: Record<string, Scenario>;
  readonly thresholds: Record<string, string[]>;
}

/**
 * mTLS for the drill's own calls to a service (reading catalog's /metrics as
 * Prometheus does): the runner passes Prometheus's certificate files when the
 * run has a CA. Mesh certificates name no host, so k6 cannot check the name;
 * the services still check k6's certificate.
 */
function meshClientTls(): Partial<Options> {
  const cert = env('MESH_CLIENT_CERT');
  const key = env('MESH_CLIENT_KEY');
  if (cert === undefined || key === undefined) return {};
  return {
    tlsAuth: [{ domains: ['127.0.0.1'], cert: open(cert), key: open(key) }],
    insecureSkipTLSVerify: true,
  };
}

export function drillOptions(input: DrillOptionsInput): Options {
  installResponseCallback();
  const total = totalMs(input.schedule);
  return {
    ...meshClientTls(),
    setupTimeout: '60s',
    teardownTimeout: '60s',
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
    scenarios: {
      ...input.traffic,
      chaos: {
        executor: 'per-vu-iterations',
        exec: 'chaos',
        vus: 1,
        iterations: 1,
        maxDuration: formatDuration(total + 30_000),
      },
    },
    thresholds: input.thresholds,
  };
}

/** A constant arrival rate over the whole schedule (open model). */
export function steadyTraffic(
  exec: string,
  rate: number,
  s: Schedule,
  extra: Partial<Scenario> = {},
): Scenario {
  return {
    executor: 'constant-arrival-rate',
    exec,
    rate,
    timeUnit: '1s',
    duration: formatDuration(totalMs(s)),
    preAllocatedVUs: Math.max(4, Math.ceil(rate)),
    maxVUs: Math.max(20, Math.ceil(rate * 6)),
    gracefulStop: '15s',
    ...extra,
  } as Scenario;
}

// --- the fault controller -------------------------------------------------------

export interface FaultSpecInput {
  readonly name?: string;
  readonly spec: Record<string, unknown>;
  /** Lease, ms: the controller undoes it by then even if nobody else does. */
  readonly maxDurationMs?: number;
}

/** A fault on a platform process: `stop` (started at the undo), `pause`, `kill` (SIGKILL; started at the undo). */
export function processFault(
  name: string,
  target: string,
  action: 'stop' | 'pause' | 'kill',
): FaultSpecInput {
  return { name, spec: { kind: 'process', target, action } };
}

/** A rule in a service's mesh fault filter (`delay` or `abort` for a share of the requests it matches). */
export function meshFault(name: string, target: string, rule: Record<string, unknown>): FaultSpecInput {
  return { name, spec: { kind: 'mesh', target, rules: [rule] } };
}

function controlUrl(): string {
  const url = env('CONTROL_URL');
  if (url === undefined) throw new Error('CONTROL_URL is not set: run drills with `npm run drill -- <name>`');
  return url.replace(/\/+$/, '');
}

export function drillName(): string {
  return env('DRILL') ?? 'drill';
}

/** Calls the control API; throws with the problem's detail on anything but 2xx. */
export function control(method: string, path: string, body?: unknown): unknown {
  const res = http.request(
    method,
    `${controlUrl()}${path}`,
    body === undefined ? null : JSON.stringify(body),
    {
      headers: {
        Authorization: `Bearer ${env('CONTROL_TOKEN') ?? ''}`,
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      tags: { route: 'control', name: 'control' },
      timeout: '120s',
      responseCallback: http.expectedStatuses({ min: 200, max: 299 }),
    },
  );
  if (res.status < 200 || res.status > 299) {
    throw new Error(`control ${method} ${path} answered ${res.status}: ${String(res.body).slice(0, 300)}`);
  }
  return res.body ? JSON.parse(String(res.body)) : {};
}

export function injectFault(fault: FaultSpecInput, leaseMs: number): string {
  const record = control('POST', '/v1/faults', {
    drill: drillName(),
    name: fault.name,
    maxDurationMs: fault.maxDurationMs ?? leaseMs,
    spec: fault.spec,
  }) as { id: string };
  console.info(`[${drillName()}] fault ${fault.name ?? ''} injected (${record.id})`);
  return record.id;
}

/**
 * Rate-limit headroom for the drill's own traffic (alice's 100/min would
 * turn a drill into a rate-limit test): a preparation the controller undoes
 * with the drill's faults.
 */
export function raiseLimits(
  leaseMs: number,
  policy = 'alice',
  limits: Record<string, number> = { minute: 1_000_000 },
): void {
  control('POST', '/v1/faults', {
    drill: drillName(),
    name: 'headroom',
    preparation: true,
    maxDurationMs: leaseMs,
    spec: { kind: 'limit', policy, limits },
  });
}

/** Undoes one fault; returns when the controller says it ended (epoch ms; now if it does not say). */
export function undoFault(id: string): number {
  const record = control('DELETE', `/v1/faults/${id}`) as { endedAt?: string };
  const ended = record.endedAt === undefined ? Number.NaN : Date.parse(record.endedAt);
  return Number.isFinite(ended) ? ended : Date.now();
}

/** Undoes every active fault of this drill; never throws (teardown must go on). */
export function undoAll(): void {
  try {
    control('DELETE', `/v1/faults?drill=${encodeURIComponent(drillName())}`);
  } catch (err) {
    console.error(`[${drillName()}] undo of all faults failed: ${String(err)}`);
  }
}

export interface ProcessInfo {
  readonly name: string;
  readonly state: string;
  readonly port?: number;
  readonly url?: string;
  readonly adminPort?: number;
}

export function processes(): ProcessInfo[] {
  return (control('GET', '/v1/status') as { processes: ProcessInfo[] }).processes;
}

// --- the schedule the chaos VU follows ---------------------------------------------

/** ms since the scenarios began, on the same clock the phase tags use (k6/lib/phases.ts). */
export function elapsedMs(): number {
  return scheduleElapsedMs();
}

/** Sleeps until `atMs` on the test clock (bounded: at most `atMs` from now). */
export function sleepUntil(atMs: number): void {
  for (let i = 0; i < 100_000; i++) {
    const left = atMs - elapsedMs();
    if (left <= 0) return;
    sleep(Math.min(0.25, left / 1_000));
  }
}

export interface FaultStep {
  /** When, ms after the fault phase begins (default 0). */
  readonly atMs?: number;
  /** When it is undone, ms after the fault phase begins (default: at the fault phase's end). */
  readonly untilMs?: number;
  readonly fault: FaultSpecInput;
}

/** Which gateway breaker a drill watches after its fault (breaker_recovery_ms). */
export interface BreakerWatch {
  /** The gateway upstream (`bw_breaker_state{upstream}`), e.g. `catalog`. */
  readonly upstream: string;
}

/**
 * The chaos VU's whole life: wait for the fault phase, inject each step at
 * its time, undo everything at the fault's end, then poll `holds` until the
 * hypothesis holds again (time to recover) or the recovery phase ends.
 */
export interface ScheduleHooks {
  /** Right after the first fault is in force. */
  readonly afterInject?: () => void;
  /** Right before the faults are undone. */
  readonly beforeUndo?: () => void;
}

export function runSchedule(
  s: Schedule,
  steps: readonly FaultStep[],
  holds: () => boolean,
  hooks: ScheduleHooks = {},
  breaker?: BreakerWatch,
): void {
  const faultEnd = s.steadyMs + s.faultMs;
  const lease = s.faultMs + 60_000;
  // Injects and the undos of steps that end early, in time order (an inject first on a tie).
  const actions = steps
    .flatMap((step, i) => [
      { at: s.steadyMs + (step.atMs ?? 0), inject: true, i },
      ...(step.untilMs !== undefined && step.untilMs < s.faultMs
        ? [{ at: s.steadyMs + step.untilMs, inject: false, i }]
        : []),
    ])
    .sort((a, b) => a.at - b.at || Number(b.inject) - Number(a.inject));
  const ids = new Map<number, string>();
  let failed = false;
  let endedAt = Date.now();
  try {
    for (const action of actions) {
      sleepUntil(action.at);
      if (action.inject) {
        ids.set(action.i, injectFault((steps[action.i] as FaultStep).fault, lease));
        if (ids.size === 1) hooks.afterInject?.();
      } else {
        const id = ids.get(action.i);
        ids.delete(action.i);
        if (id !== undefined) undoFault(id);
      }
    }
    sleepUntil(faultEnd);
    hooks.beforeUndo?.();
    if (breaker) breakerOpened.add(breakerStates(breaker.upstream).some((v) => v > 0));
    scheduleRan.add(true);
  } catch (err) {
    // A fault that could not be injected makes the drill meaningless: say so in the verdict.
    failed = true;
    scheduleRan.add(false);
    console.error(`[${drillName()}] the fault schedule failed: ${String(err)}`);
  } finally {
    for (const id of [...ids.values()].reverse()) {
      try {
        endedAt = undoFault(id);
      } catch (err) {
        console.error(`[${drillName()}] undo ${id} failed: ${String(err)}`);
      }
    }
  }
  if (failed) {
    recovered.add(false);
    return;
  }
  // "The fault's end" is when the undo was asked for: a restart's own start-up time counts.
  const deadline = faultEnd + s.recoveryMs;
  if (breaker) watchBreaker(breaker.upstream, endedAt, deadline);
  for (let i = 0; i < 10_000; i++) {
    let ok = false;
    try {
      ok = holds();
    } catch (err) {
      console.warn(`[${drillName()}] recovery probe: ${String(err)}`);
    }
    const now = elapsedMs();
    if (ok) {
      timeToRecover.add(Math.max(0, now - faultEnd));
      recovered.add(true);
      console.info(
        `[${drillName()}] hypothesis holds again ${((now - faultEnd) / 1_000).toFixed(1)} s after the fault`,
      );
      return;
    }
    if (now >= deadline) break;
    sleep(0.25);
  }
  timeToRecover.add(Math.max(0, elapsedMs() - faultEnd));
  recovered.add(false);
  console.error(`[${drillName()}] the hypothesis did not hold again before the recovery phase ended`);
}

// --- breaker state, read from each gateway process ------------------------------------

/** Each running gateway process's admin `/metrics` text, or undefined where it did not answer 200. */
export function gatewayMetricsTexts(): (string | undefined)[] {
  return processes()
    .filter((p) => p.name.startsWith('gateway') && p.state === 'running' && p.adminPort !== undefined)
    .map((p) => {
      const res = http.get(`http://127.0.0.1:${p.adminPort}/metrics`, {
        tags: { route: 'probe', name: 'probe' },
        timeout: '2s',
        responseCallback: http.expectedStatuses(200),
      });
      return res.status === 200 ? String(res.body ?? '') : undefined;
    });
}

/** The breaker for `upstream` in every running gateway process: its state (0 closed, 1 half-open, 2 open) and since when (epoch ms). */
function breakerReadings(upstream: string): { state: number; sinceMs: number }[] {
  const sample = (text: string, metric: string) =>
    new RegExp(`^${metric}\\{[^}]*upstream="${upstream}"[^}]*\\}\\s+(\\S+)`, 'm').exec(text)?.[1];
  return gatewayMetricsTexts().map((text) =>
    text === undefined
      ? { state: Number.NaN, sinceMs: Number.NaN }
      : {
          // No sample yet means the breaker never changed state: closed.
          state: Number(sample(text, 'bw_breaker_state') ?? 0),
          sinceMs: Number(sample(text, 'bw_breaker_state_since_seconds') ?? 0) * 1_000,
        },
  );
}

/** `bw_breaker_state{upstream}` of every running gateway process (0 closed, 1 half-open, 2 open). */
export function breakerStates(upstream: string): number[] {
  return breakerReadings(upstream).map((r) => r.state);
}

/**
 * Polls every gateway's breaker for `upstream` every 50 ms from the fault's
 * end (`endedAt`, epoch ms) until all are closed, and records in
 * breaker_recovery_ms when the last of them closed — its own transition
 * time (bw_breaker_state_since_seconds), so how long a poll takes on a busy
 * machine adds nothing — or the time until `deadlineMs` (test clock) if
 * they never close.
 */
function watchBreaker(upstream: string, endedAt: number, deadlineMs: number): void {
  for (let i = 0; i < 100_000; i++) {
    const readings = breakerReadings(upstream);
    if (readings.length > 0 && readings.every((r) => r.state === 0)) {
      const closedAt = Math.max(...readings.map((r) => r.sinceMs));
      const took = Math.max(0, closedAt - endedAt);
      breakerRecoveryMs.add(took);
      console.info(
        `[${drillName()}] ${upstream} breaker closed on every gateway ${Math.round(took)} ms after the fault (seen ${Date.now() - endedAt} ms after it)`,
      );
      return;
    }
    if (elapsedMs() >= deadlineMs) break;
    sleep(0.05);
  }
  breakerRecoveryMs.add(Math.max(0, Date.now() - endedAt));
  console.error(`[${drillName()}] the ${upstream} breaker did not close before the recovery phase ended`);
}

// --- served accounting -----------------------------------------------------------

/** Whether the caller got what it asked for (not merely a polite refusal). */
export function isServed(answer: Answer): boolean {
  return (
    answer.outcome.outcome === 'ok' ||
    answer.outcome.reason === 'stale' ||
    answer.outcome.reason === 'accepted'
  );
}

/**
 * The phase an answer's `served` sample belongs to: a request that saw the
 * fault belongs to the fault. So the phase it was sent in (as its
 * http_reqs), except that one sent in the steady phase and answered later
 * saw the fault begin. An order sent while catalog was paused that fails a
 * second later, once the recovery phase has begun, is the fault's failure,
 * not the recovery's; one sent just before the fault that fails in it is not
 * the steady state's.
 */
export function servedPhase(sentIn: string, answeredIn: string): string {
  return sentIn === 'steady' && answeredIn !== 'steady' ? 'fault' : sentIn;
}

/** Wraps a ShopApi so every answer also feeds `served` with the same tags (phase: {@link servedPhase}). */
export function withServed(api: ShopApi, tags: Record<string, string> = {}): ShopApi {
  const rec = (route: RouteName, answer: Answer): Answer => {
    served.add(isServed(answer), { ...tags, route, phase: servedPhase(answer.phase, currentPhase()) });
    return answer;
  };
  return {
    call: (route, path, body, headers) => rec(route, api.call(route, path, body, headers)),
    shopPage: () => rec('shop_page', api.shopPage()),
    listProducts: (limit, cursor) => rec('catalog_list', api.listProducts(limit, cursor)),
    getProduct: (id) => rec('catalog_product', api.getProduct(id)),
    placeOrder: (items, opts) => rec('orders_create', api.placeOrder(items, opts)),
    getOrder: (id) => rec('orders_get', api.getOrder(id)),
    getPayment: (orderId) => rec('payments_get', api.getPayment(orderId)),
  };
}

/** Customer ids of this run's orders: the invariant check finds them by this prefix. */
export function customerId(): string {
  return `drill-${env('TEST_ID') ?? 'adhoc'}-vu${exec.vu.idInTest}`;
}

export function rate(fallback: number): number {
  return envNumber('RATE', fallback);
}
