/**
 * Per-second timeline from k6's JSON output (`--out json=metrics.json.gz`):
 * requests, served share and latency (p50/p95) of the drill's traffic
 * (probes and control calls left out), for the report's chart; and every
 * request that carried a trace id (k6/lib/shop-api.ts puts it on the
 * samples' metadata), with its duration and outcome, from which the report
 * picks the traces to draw.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';

export interface TimelinePoint {
  /** Seconds since the first sample. */
  t: number;
  requests: number;
  served: number;
  /** Share served, 0–1 (undefined: no request that second). */
  success?: number;
  p50?: number;
  p95?: number;
}

/** One request of the drill's traffic that carried a trace id. */
export interface TracedRequest {
  traceId: string;
  /** Seconds since the timeline's start. */
  t: number;
  phase: string;
  route: string;
  status: number;
  ms: number;
  outcome: 'ok' | 'degraded' | 'failure';
  /** Why degraded (`stale`, `retry_after`, …). */
  reason?: string;
}

export interface Timeline {
  /** ISO time of t = 0. */
  start: string;
  points: TimelinePoint[];
  /** First and last second each phase tag was seen. */
  phases: { name: string; from: number; to: number }[];
  /** Requests with a trace id, in the order their duration was recorded. */
  requests: TracedRequest[];
}

function quantile(sorted: number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export async function readTimeline(file: string): Promise<Timeline> {
  const raw = createReadStream(file);
  const input = raw.pipe(createGunzip());
  // pipe() does not pass a read error on (k6 that never started wrote no file): end the lines with it.
  raw.on('error', (err) => input.destroy(err));
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const buckets = new Map<
    number,
    { requests: number; served: number; servedN: number; durations: number[] }
  >();
  let t0: number | undefined;
  let start = '';
  const phases = new Map<string, { from: number; to: number }>();
  const traced = new Map<string, TracedRequest>();
  const verdicts = new Map<string, { outcome: TracedRequest['outcome']; reason?: string | undefined }>();
  for await (const line of lines) {
    if (!line.startsWith('{"metric"')) continue;
    let point: {
      metric: string;
      type: string;
      data: {
        time: string;
        value: number;
        tags?: Record<string, string>;
        metadata?: Record<string, string>;
      };
    };
    try {
      point = JSON.parse(line);
    } catch {
      continue;
    }
    if (point.type !== 'Point') continue;
    const { metric, data } = point;
    const traceId = data.metadata?.trace_id;
    if (traceId !== undefined && (metric === 'failures' || metric === 'degraded')) {
      // The request's classification (k6/lib/outcome.ts), with the same metadata.
      if (metric === 'degraded') verdicts.set(traceId, { outcome: 'degraded', reason: data.tags?.reason });
      else if (data.value) verdicts.set(traceId, { outcome: 'failure' });
      continue;
    }
    if (metric !== 'http_req_duration' && metric !== 'served') continue;
    const route = data.tags?.route;
    if (route === undefined || route === 'probe' || route === 'control') continue;
    const ms = Date.parse(data.time);
    if (t0 === undefined) {
      t0 = ms;
      start = data.time;
    }
    const sec = Math.max(0, Math.floor((ms - t0) / 1000));
    const phase = data.tags?.phase;
    if (phase !== undefined) {
      const w = phases.get(phase) ?? { from: sec, to: sec };
      w.from = Math.min(w.from, sec);
      w.to = Math.max(w.to, sec + 1);
      phases.set(phase, w);
    }
    const b = buckets.get(sec) ?? { requests: 0, served: 0, servedN: 0, durations: [] };
    if (metric === 'http_req_duration') {
      b.requests += 1;
      b.durations.push(data.value);
      if (traceId !== undefined)
        traced.set(traceId, {
          traceId,
          t: (ms - t0) / 1000,
          phase: phase ?? '',
          route,
          status: Number(data.tags?.status ?? 0),
          ms: data.value,
          outcome: 'ok',
        });
    } else {
      b.servedN += 1;
      b.served += data.value ? 1 : 0;
    }
    buckets.set(sec, b);
  }
  const last = Math.max(-1, ...buckets.keys());
  const points: TimelinePoint[] = [];
  for (let t = 0; t <= last; t++) {
    const b = buckets.get(t);
    if (!b) {
      points.push({ t, requests: 0, served: 0 });
      continue;
    }
    const sorted = b.durations.sort((x, y) => x - y);
    const p50 = quantile(sorted, 0.5);
    const p95 = quantile(sorted, 0.95);
    points.push({
      t,
      requests: b.requests,
      served: b.served,
      ...(b.servedN > 0 ? { success: b.served / b.servedN } : {}),
      ...(p50 !== undefined ? { p50 } : {}),
      ...(p95 !== undefined ? { p95 } : {}),
    });
  }
  return {
    start,
    points,
    phases: [...phases.entries()].map(([name, w]) => ({ name, ...w })).sort((a, b) => a.from - b.from),
    requests: [...traced.values()].map((r) => {
      const v = verdicts.get(r.traceId);
      if (!v) return r;
      return { ...r, outcome: v.outcome, ...(v.reason ? { reason: v.reason } : {}) };
    }),
  };
}
