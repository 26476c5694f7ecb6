/**
 * The resilience lint's analysis, plain functions over plain data (no I/O;
 * resilience-sources.ts reads the repository into a `ResilienceInput`).
 *
 * A request enters at a gateway route and travels hop by hop (gateway →
 * orders → catalog). On each hop up to two layers may time out and retry,
 * outermost first: the caller's mesh client, then the caller's Istio sidecar
 * (which would try each of the mesh client's tries again). Every layer is one
 * *level* of the path; the rules below read the levels in order:
 *
 * - attempts: a callee sees the product of `1 + maxRetries` of every level
 *   above it; a retry budget caps a level's factor at `1 + percent/100`
 *   (plus its floor of `minRetriesPerSec` per caller process);
 * - time: a level's worst case, `min(deadline, tries × per-try timeout +
 *   worst backoff)`, must fit in the enclosing level's per-try timeout —
 *   otherwise the child still works after its parent gave up;
 * - layers: retries at more than one level of a path are allowed only when
 *   every retrying level has a budget;
 * - idempotency: a route that forwards a non-idempotent method and retries
 *   must reach only operations that require an Idempotency-Key.
 */
import { IDEMPOTENT_METHODS, type UpstreamPolicy } from '@breakwater/mesh/policy';

export interface Budget {
  /** Retries as a percentage of requests. */
  percent: number;
  /** Retries per second always allowed, per caller process. */
  minRetriesPerSec: number;
}

/** One layer that times out and may retry on one hop. */
export interface Layer {
  kind: 'mesh client' | 'Istio sidecar';
  /** Where the numbers come from, for the report (file and field). */
  source: string;
  /** Per-try timeout, ms. */
  timeoutMs: number;
  /** Overall deadline of the call (every try and backoff), ms; Infinity when none. */
  deadlineMs: number;
  maxRetries: number;
  /** Worst-case backoff before each retry, ms (index 0: before the first retry). */
  backoffMaxMs: readonly number[];
  /** undefined: the layer retries without a budget. */
  budget: Budget | undefined;
}

export interface Hop {
  caller: string;
  callee: string;
  /** Outermost first: the mesh client, then the sidecar. */
  layers: readonly Layer[];
}

/** An operation of the callee's OpenAPI document. */
export interface Operation {
  method: string;
  path: string;
  idempotencyKeyRequired: boolean;
}

export interface EntryRoute {
  /** The gateway route's name. */
  name: string;
  /** The first hop: gateway → the route's upstream, with the route's overrides applied. */
  hop: Hop;
  /**
   * Every method the route forwards, with the operations of the upstream it
   * reaches; `undefined` operations: the upstream has no OpenAPI document.
   */
  methods: readonly { method: string; operations: readonly Operation[] | undefined }[];
}

export interface ResilienceInput {
  routes: readonly EntryRoute[];
  /** Service-to-service hops (the code's edges, with their policies). */
  hops: readonly Hop[];
  /** Problems found while reading the sources (a missing policy, a mismatch). */
  problems: readonly Violation[];
}

export type Rule = 'time' | 'layers' | 'idempotency' | 'sources';

export interface Violation {
  rule: Rule;
  /** `route orders: gateway → orders → catalog`, or the file at fault. */
  where: string;
  message: string;
}

/** One level of one path, as the report's table shows it. */
export interface LevelRow {
  route: string;
  /** Workloads from the edge to this level's callee. */
  path: readonly string[];
  layer: Layer;
  tries: number;
  /** Tries at the callee for one request at the edge: the product of every level's tries so far. */
  attempts: number;
  /** The same product with each budgeted level's factor capped at 1 + percent/100. */
  cappedAttempts: number;
  /** tries × per-try timeout + worst backoff, ms. */
  spanMs: number;
  /** min(spanMs, deadlineMs): how long this level can keep its callee busy. */
  worstMs: number;
  /** The enclosing level (undefined at the edge's first level). */
  parent: Layer | undefined;
}

export interface ResilienceReport {
  rows: LevelRow[];
  violations: Violation[];
}

/**
 * Worst-case backoff before each retry of a mesh policy: full jitter draws
 * from [0, min(cap, base × 2ⁿ)), decorrelated jitter never exceeds the cap.
 * A Retry-After can ask for more, but never past the deadline, and the
 * deadline bounds every level's worst case anyway.
 */
export function backoffMaxima(
  b: { baseMs: number; capMs: number; jitter: 'full' | 'decorrelated' },
  retries: number,
): number[] {
  return Array.from({ length: retries }, (_, n) =>
    b.jitter === 'full' ? Math.min(b.capMs, b.baseMs * 2 ** n) : b.capMs,
  );
}

/** The mesh client layer of a policy, with a route's overrides (the gateway's per-route fields). */
export function meshLayer(
  p: UpstreamPolicy,
  source: string,
  o: {
    timeoutMs?: number | undefined;
    deadlineMs?: number | undefined;
    maxRetries?: number | undefined;
  } = {},
): Layer {
  const maxRetries = o.maxRetries ?? p.retry.maxRetries;
  return {
    kind: 'mesh client',
    source,
    timeoutMs: o.timeoutMs ?? p.timeoutMs,
    deadlineMs: o.deadlineMs ?? p.deadlineMs,
    maxRetries,
    backoffMaxMs: backoffMaxima(p.retry.backoff, maxRetries),
    budget: { percent: p.retry.budget.percent, minRetriesPerSec: p.retry.budget.minRetriesPerSec },
  };
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
export const spanOf = (l: Layer) => (1 + l.maxRetries) * l.timeoutMs + sum(l.backoffMaxMs);
export const pathText = (route: string, path: readonly string[]) => `route ${route}: ${path.join(' → ')}`;
const layerText = (l: Layer) => `${l.kind}, ${l.source}`;

/** Walks every path from every route and applies the rules. */
export function analyse(input: ResilienceInput): ResilienceReport {
  const rows: LevelRow[] = [];
  const violations: Violation[] = [...input.problems];
  const byCaller = new Map<string, Hop[]>();
  for (const h of input.hops) byCaller.set(h.caller, [...(byCaller.get(h.caller) ?? []), h]);

  for (const route of input.routes) {
    checkIdempotency(route, violations);
    const walk = (hop: Hop, path: string[], above: LevelRow[]) => {
      if (path.includes(hop.callee)) return; // a cycle: its first pass was reported
      const here = [...path, hop.callee];
      let levels = above;
      for (const layer of hop.layers) {
        const row = level(route.name, here, layer, levels.at(-1));
        rows.push(row);
        levels = [...levels, row];
        checkTime(row, violations);
      }
      checkLayers(route.name, here, levels, violations);
      for (const next of byCaller.get(hop.callee) ?? []) walk(next, here, levels);
    };
    walk(route.hop, [route.hop.caller], []);
  }
  return { rows, violations };
}

function level(route: string, path: string[], layer: Layer, parent: LevelRow | undefined): LevelRow {
  const tries = 1 + layer.maxRetries;
  const capped = layer.budget === undefined ? tries : Math.min(tries, 1 + layer.budget.percent / 100);
  const spanMs = spanOf(layer);
  return {
    route,
    path,
    layer,
    tries,
    attempts: (parent?.attempts ?? 1) * tries,
    cappedAttempts: (parent?.cappedAttempts ?? 1) * capped,
    spanMs,
    worstMs: Math.min(spanMs, layer.deadlineMs),
    parent: parent?.layer,
  };
}

function checkTime(row: LevelRow, out: Violation[]): void {
  const p = row.parent;
  if (p === undefined || row.worstMs <= p.timeoutMs) return;
  const l = row.layer;
  out.push({
    rule: 'time',
    where: pathText(row.route, row.path),
    message:
      `${layerText(l)}: ${row.tries} × ${l.timeoutMs} ms + ${sum(l.backoffMaxMs)} ms backoff = ${row.spanMs} ms` +
      `, deadline ${l.deadlineMs} ms → up to ${row.worstMs} ms, longer than the enclosing per-try timeout ` +
      `${p.timeoutMs} ms (${layerText(p)}): the callee keeps working after its caller gave up`,
  });
}

/** Only the last hop's levels are new on this path; earlier prefixes were checked on their own. */
function checkLayers(route: string, path: string[], levels: LevelRow[], out: Violation[]): void {
  const retrying = levels.filter((r) => r.layer.maxRetries > 0);
  const unbudgeted = retrying.filter((r) => r.layer.budget === undefined);
  if (retrying.length < 2 || unbudgeted.length === 0) return;
  // report a path once: at the first hop where it goes wrong
  const before = levels.filter((r) => r.path.length < path.length);
  const beforeRetrying = before.filter((r) => r.layer.maxRetries > 0);
  if (beforeRetrying.length >= 2 && beforeRetrying.some((r) => r.layer.budget === undefined)) return;
  const last = levels.at(-1) as LevelRow;
  out.push({
    rule: 'layers',
    where: pathText(route, path),
    message:
      `retries at ${retrying.length} levels (${retrying
        .map((r) => `${r.path.at(-2)} → ${r.path.at(-1)} ${r.layer.kind} ×${r.tries}`)
        .join(', ')}) multiply to ${last.attempts} tries at ${path.at(-1)}; without a retry budget at ` +
      unbudgeted.map((r) => `${r.layer.kind} (${r.layer.source})`).join(', '),
  });
}

function checkIdempotency(route: EntryRoute, out: Violation[]): void {
  const retrying = route.hop.layers.filter((l) => l.maxRetries > 0);
  if (retrying.length === 0) return;
  const by = retrying.map((l) => `${l.kind} maxRetries ${l.maxRetries}, ${l.source}`).join('; ');
  for (const { method, operations } of route.methods) {
    if (IDEMPOTENT_METHODS.has(method)) continue;
    const where = pathText(route.name, [route.hop.caller, route.hop.callee]);
    if (operations === undefined) {
      out.push({
        rule: 'idempotency',
        where,
        message: `forwards ${method} and retries it (${by}), but ${route.hop.callee} has no OpenAPI document to show it requires an Idempotency-Key`,
      });
      continue;
    }
    for (const op of operations)
      if (!op.idempotencyKeyRequired)
        out.push({
          rule: 'idempotency',
          where,
          message: `${method} reaches ${route.hop.callee} ${op.method} ${op.path}, which does not require an Idempotency-Key, and is retried (${by})`,
        });
  }
}
