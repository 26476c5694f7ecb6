/**
 * Checks that need the whole run's numbers, which a k6 threshold cannot
 * express (a threshold cannot refer to another phase or metric):
 *
 * - `victim-latency` (noisy-neighbour): the victim's p95 in the fault phase
 *   stays within 2 × its steady-phase p95 + 50 ms.
 * - `retry-budget` (retry-storm): the tries catalog received during the
 *   fault ≤ the requests offered to it + what the retry budgets allow:
 *   `percent`% of them plus each caller's `minRetriesPerSec` × fault seconds
 *   (callers: the two gateway processes with gateway.yaml's catalog budget,
 *   orders with the mesh default 20 % / 10 per s).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import type { ExtraCheck, Summary } from './verdict.ts';

export interface DerivedInput {
  summary: Summary;
  root: string;
}

/** Mesh defaults (mesh/README.md, Policy): retry.budget. */
const MESH_BUDGET = { percent: 20, minRetriesPerSec: 10 };
const GATEWAY_PROCESSES = 2;
export const VICTIM_MARGIN = { factor: 2, plusMs: 50 };

function metric(summary: Summary, key: string) {
  return summary.metrics[key];
}

function sumCount(summary: Summary, match: (key: string) => boolean): number {
  return Object.entries(summary.metrics)
    .filter(([k]) => match(k))
    .reduce((n, [, m]) => n + (m.count ?? 0), 0);
}

function gatewayCatalogBudget(root: string): { percent: number; minRetriesPerSec: number } {
  try {
    const doc = parse(readFileSync(path.join(root, 'gateway', 'gateway.yaml'), 'utf8')) as {
      upstreams?: { catalog?: { retry?: { budget?: { percent?: number; minRetriesPerSec?: number } } } };
    };
    const b = doc.upstreams?.catalog?.retry?.budget ?? {};
    return {
      percent: b.percent ?? MESH_BUDGET.percent,
      minRetriesPerSec: b.minRetriesPerSec ?? MESH_BUDGET.minRetriesPerSec,
    };
  } catch {
    return MESH_BUDGET;
  }
}

export function derivedChecks(kinds: readonly string[], input: DerivedInput): ExtraCheck[] {
  const out: ExtraCheck[] = [];
  const { summary } = input;
  if (kinds.includes('victim-latency')) {
    for (const route of ['catalog_list', 'catalog_product']) {
      const steady = metric(summary, `http_req_duration{consumer:bob,phase:steady,route:${route}}`)?.[
        'p(95)'
      ];
      const fault = metric(summary, `http_req_duration{consumer:bob,phase:fault,route:${route}}`)?.['p(95)'];
      if (steady === undefined || fault === undefined) {
        out.push({ name: `victim p95 ${route}`, value: 'no data', threshold: 'measured', pass: false });
        continue;
      }
      const limit = steady * VICTIM_MARGIN.factor + VICTIM_MARGIN.plusMs;
      out.push({
        name: `victim p95 ${route} (fault vs steady)`,
        value: `${Math.round(fault)} ms vs ${Math.round(steady)} ms`,
        threshold: `≤ ${VICTIM_MARGIN.factor} × baseline + ${VICTIM_MARGIN.plusMs} ms = ${Math.round(limit)} ms`,
        pass: fault <= limit,
      });
    }
  }
  if (kinds.includes('retry-budget')) {
    const received = metric(summary, 'catalog_received')?.count;
    const windowMs = metric(summary, 'fault_window_ms')?.count;
    const offered = sumCount(
      summary,
      (k) =>
        k.startsWith('http_reqs{') &&
        k.includes('phase:fault') &&
        (k.includes('route:catalog_list') ||
          k.includes('route:catalog_product') ||
          k.includes('route:orders_create')),
    );
    if (received === undefined || windowMs === undefined || offered === 0) {
      out.push({
        name: 'catalog load within the retry budget',
        value: 'no data',
        threshold: 'measured',
        pass: false,
      });
    } else {
      const gw = gatewayCatalogBudget(input.root);
      const seconds = windowMs / 1000;
      const allowedRetries =
        (offered * gw.percent) / 100 +
        GATEWAY_PROCESSES * gw.minRetriesPerSec * seconds +
        MESH_BUDGET.minRetriesPerSec * seconds;
      const limit = offered + allowedRetries;
      out.push({
        name: 'catalog load within the retry budget',
        value: `${received} tries for ${offered} requests (×${(received / offered).toFixed(2)}) in ${seconds.toFixed(0)} s`,
        threshold: `≤ ${Math.round(limit)} (offered + ${gw.percent} % + floors of ${GATEWAY_PROCESSES}×${gw.minRetriesPerSec}/s + ${MESH_BUDGET.minRetriesPerSec}/s)`,
        pass: received <= limit,
      });
    }
  }
  return out;
}

export interface SteadyLatencyBound {
  readonly stat: 'p(95)' | 'p(99)';
  readonly factor: number;
  readonly plusMs: number;
  readonly routes: readonly string[];
}

/**
 * The replica drills' latency hypothesis: per route, the fault phase's
 * `stat` stays within `factor` × the steady phase's (+ `plusMs`) — one bad
 * or slow instance among three must not show in the tail callers see.
 */
export function steadyLatencyChecks(summary: Summary, bound: SteadyLatencyBound): ExtraCheck[] {
  return bound.routes.map((route) => {
    const steady = metric(summary, `http_req_duration{phase:steady,route:${route}}`)?.[bound.stat];
    const fault = metric(summary, `http_req_duration{phase:fault,route:${route}}`)?.[bound.stat];
    const name = `${route} ${bound.stat} (fault vs steady)`;
    if (steady === undefined || fault === undefined)
      return { name, value: 'no data', threshold: 'measured', pass: false };
    const limit = steady * bound.factor + bound.plusMs;
    return {
      name,
      value: `${Math.round(fault)} ms vs ${Math.round(steady)} ms`,
      threshold: `≤ ${bound.factor} × steady${bound.plusMs ? ` + ${bound.plusMs} ms` : ''} = ${Math.round(limit)} ms`,
      pass: fault <= limit,
    };
  });
}
