/**
 * What the replica drills (bad-replica, slow-replica, replica-crash,
 * rolling-deploy) share: the names of a service's instances (the runner sets
 * `INSTANCES_<SERVICE>`, e.g. `INSTANCES_CATALOG=catalog-1,catalog-2,catalog-3`,
 * after scaling the run to what the drill declares), and what each gateway's
 * mesh client says about an upstream's endpoints (`bw_upstream_ejections_*`
 * from every gateway process's admin /metrics — each process has its own
 * outlier detector, as each Envoy sidecar has).
 */

import { sleep } from 'k6';
import http from 'k6/http';
import { Rate, Trend } from 'k6/metrics';
import { env } from '../../lib/config.ts';
import { drillName, elapsedMs, gatewayMetricsTexts, processes } from './drill.ts';

/** ms from the fault's inject until a gateway process ejected the bad endpoint. */
export const ejectionMs = new Trend('ejection_ms', true);
/** 1 when a gateway process ejected the bad endpoint before the fault ended. */
export const ejected = new Rate('ejected');

/** The `n`th (1-based) instance of `service` in this run; fails the drill's start when there is none. */
export function instance(service: string, n: number): string {
  const names = (env(`INSTANCES_${service.toUpperCase()}`) ?? '').split(',').filter(Boolean);
  const name = names[n - 1];
  if (name === undefined) {
    throw new Error(
      `${service} has ${names.length} instance(s) in this run, the drill needs at least ${n}: run it with npm run drill (which scales the run first)`,
    );
  }
  return name;
}

/** The URL callers know an instance by (its endpoint in the endpoints file and in the mesh's metrics). */
export function endpointOf(name: string): string {
  const url = processes().find((p) => p.name === name)?.url;
  if (url === undefined) throw new Error(`${name} is not part of the run`);
  return url.replace(/\/+$/, '');
}

/** The samples of `metric{…}` in a /metrics text that carry every label in `labels`, summed. */
function sumSamples(text: string, metric: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`) && wanted.every((w) => l.includes(w)))
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

/** `metric{…}` values matching every label in `labels`, summed per running gateway process. */
function gatewaySums(metric: string, labels: Record<string, string>): number[] {
  return gatewayMetricsTexts().map((text) =>
    text === undefined ? Number.NaN : sumSamples(text, metric, labels),
  );
}

/** Ejections of `endpoint` from `upstream` so far, per gateway process. */
export function ejectionsOf(upstream: string, endpoint: string): number[] {
  return gatewaySums('bw_upstream_ejections_total', { upstream, endpoint });
}

/** Endpoints of `upstream` ejected now, per gateway process. */
export function activeEjections(upstream: string): number[] {
  return gatewaySums('bw_upstream_ejections_active', { upstream });
}

/**
 * From the fault's inject: polls every 100 ms until a gateway process ejected
 * `endpoint` once more than at `before`, then records ejection_ms; gives up
 * (ejected 0) at `deadlineMs` on the test clock. Any gateway, not every one:
 * k6 keeps its connections, so the kernel's SO_REUSEPORT spread can leave one
 * gateway process with too few requests in an interval to judge (Envoy's
 * request volume), and that one has then also seen few of the failures.
 */
export function watchEjection(
  upstream: string,
  endpoint: string,
  before: number[],
  deadlineMs: number,
): void {
  const t0 = Date.now();
  for (let i = 0; i < 100_000; i++) {
    const now = ejectionsOf(upstream, endpoint);
    if (now.some((n, k) => n > (before[k] ?? 0))) {
      const took = Date.now() - t0;
      ejectionMs.add(took);
      ejected.add(true);
      console.info(
        `[${drillName()}] ${endpoint} ejected from ${upstream} ${took} ms after the fault (ejections per gateway: ${now.join(', ')})`,
      );
      return;
    }
    if (elapsedMs() >= deadlineMs) break;
    sleep(0.1);
  }
  ejectionMs.add(Date.now() - t0);
  ejected.add(false);
  console.error(`[${drillName()}] ${endpoint} was not ejected from ${upstream} during the fault`);
}

/** Requests each instance (by URL) counted for `method` `route` on its own /metrics (the server kit's histogram). */
export function instanceCounts(urls: readonly string[], method: string, route: string): number[] {
  return urls.map((url) => {
    const res = http.get(`${url}/metrics`, {
      tags: { route: 'probe', name: 'probe' },
      timeout: '2s',
      responseCallback: http.expectedStatuses(200),
    });
    return sumSamples(String(res.body ?? ''), 'bw_http_server_request_duration_seconds_count', {
      method,
      route,
    });
  });
}

/** `metric` summed over every gateway's /metrics text and every one of `labelSets` (a gateway that did not answer adds 0). */
function totalIn(
  texts: readonly (string | undefined)[],
  metric: string,
  labelSets: Record<string, string>[],
): number {
  let sum = 0;
  for (const text of texts) {
    if (text !== undefined) for (const labels of labelSets) sum += sumSamples(text, metric, labels);
  }
  return sum;
}

/** Retries every gateway sent to `upstreams` so far (bw_upstream_tries_total{kind="retry"}), summed. */
export function gatewayRetries(upstreams: readonly string[]): number {
  return totalIn(
    gatewayMetricsTexts(),
    'bw_upstream_tries_total',
    upstreams.map((upstream) => ({ upstream, kind: 'retry' })),
  );
}

/** The causes a gateway's retry policy can count (bw_upstream_retries_total). */
const RETRY_CAUSES = [
  'connect_failure',
  'reset',
  'per_try_timeout',
  'status_502',
  'status_503',
  'status_504',
] as const;
export type RetryCause = (typeof RETRY_CAUSES)[number];

/**
 * Retries every gateway sent to `upstreams` so far, by what the try before
 * failed with (bw_upstream_retries_total{cause}), summed over the gateways:
 * one read of each gateway's /metrics. `connect_failure` and `reset` are
 * what calling a leaving or gone instance looks like, unlike a slow try's
 * `per_try_timeout`.
 */
export function gatewayRetriesByCause(upstreams: readonly string[]): Record<RetryCause, number> {
  const texts = gatewayMetricsTexts();
  return Object.fromEntries(
    RETRY_CAUSES.map((cause) => [
      cause,
      totalIn(
        texts,
        'bw_upstream_retries_total',
        upstreams.map((upstream) => ({ upstream, cause })),
      ),
    ]),
  ) as Record<RetryCause, number>;
}
