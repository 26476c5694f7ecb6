/**
 * Trace waterfalls for the drill report: per phase, a few of the slowest,
 * failed and degraded requests (their trace ids recorded by k6, see
 * timeline.ts), fetched from Zipkin's v2 API (`GET /api/v2/trace/{id}`) and
 * laid out as rows of a waterfall, with the one span that explains the
 * request marked: the deepest span that failed (an `error` tag, an ERROR
 * status, a 5xx or an exception event), else the span with the longest self
 * time (its duration less its children's) — "the breaker answered in
 * 0.2 ms", "orders waited 800 ms on catalog".
 */
import type { TracedRequest } from './timeline.ts';

/** A span as Zipkin's v2 API returns it (times in microseconds). */
export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name?: string;
  kind?: string;
  timestamp?: number;
  duration?: number;
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
  annotations?: { timestamp: number; value: string }[];
}

export interface WaterfallSpan {
  id: string;
  depth: number;
  service: string;
  name: string;
  kind?: string;
  /** From the trace's first span, ms. */
  startMs: number;
  durationMs: number;
  /** Duration less the time covered by its children, ms. */
  selfMs: number;
  /** What failed, when the span did. */
  error?: string;
}

/** Why a request was picked for a waterfall. */
export type PickReason = 'failed' | 'degraded' | 'slowest';

export interface Waterfall {
  request: TracedRequest;
  why: PickReason;
  spans: WaterfallSpan[];
  /** The span that took the time or failed, and what to say about it. */
  mark?: { spanId: string; text: string };
  /** Why there is no waterfall (trace not found in Zipkin, …). */
  missing?: string;
}

export interface PickOptions {
  /** Requests of each kind per phase (default 3). */
  readonly perKind?: number;
}

/** `list` grouped by route and reason (or status), in first-seen order. */
function groups(list: readonly TracedRequest[]): TracedRequest[][] {
  const by = new Map<string, TracedRequest[]>();
  for (const r of list) {
    const key = `${r.route}|${r.reason ?? r.status}`;
    by.set(key, [...(by.get(key) ?? []), r]);
  }
  return [...by.values()];
}

/**
 * Per phase: up to `perKind` failed requests (the slowest of each route and
 * status first), degraded ones (the typical answer — median duration — of
 * each route and reason first: during a breaker-open fault that is the fast
 * fallback, not the odd slow one) and the slowest; each request once, in
 * phase order.
 */
export function pickRequests(
  requests: readonly TracedRequest[],
  options: PickOptions = {},
): { request: TracedRequest; why: PickReason }[] {
  const n = options.perKind ?? 3;
  const phases = [...new Set(requests.map((r) => r.phase))];
  const out: { request: TracedRequest; why: PickReason }[] = [];
  for (const phase of phases) {
    const inPhase = requests.filter((r) => r.phase === phase).sort((a, b) => b.ms - a.ms);
    const taken = new Set<string>();
    const take = (ordered: TracedRequest[], why: PickReason) => {
      let count = 0;
      for (const r of ordered) {
        if (count >= n) break;
        if (taken.has(r.traceId)) continue;
        taken.add(r.traceId);
        out.push({ request: r, why });
        count++;
      }
    };
    const failed = inPhase.filter((r) => r.outcome === 'failure');
    take([...groups(failed).map((g) => g[0] as TracedRequest), ...failed], 'failed');
    const degraded = inPhase.filter((r) => r.outcome === 'degraded');
    take(
      [...groups(degraded).map((g) => g[Math.floor(g.length / 2)] as TracedRequest), ...degraded],
      'degraded',
    );
    take(inPhase, 'slowest');
  }
  return out;
}

function errorOf(span: ZipkinSpan): string | undefined {
  const t = span.tags ?? {};
  const status = Number(t['http.response.status_code'] ?? t['http.status_code'] ?? 0);
  const exception = span.annotations?.some((a) => a.value.startsWith('exception'));
  if (t.error === undefined && t['otel.status_code'] !== 'ERROR' && status < 500 && !exception)
    return undefined;
  return (
    t['error.type'] ??
    t['exception.type'] ??
    (t.error && t.error !== 'true' && t.error !== '' ? t.error : undefined) ??
    t['otel.status_description'] ??
    (status >= 500 ? `HTTP ${status}` : 'exception')
  );
}

/** Milliseconds covered by `intervals` (µs pairs) inside [from, to]. */
function covered(intervals: [number, number][], from: number, to: number): number {
  const clipped = intervals
    .map(([a, b]): [number, number] => [Math.max(a, from), Math.min(b, to)])
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = from;
  for (const [a, b] of clipped) {
    const start = Math.max(a, end);
    if (b > start) total += b - start;
    end = Math.max(end, b);
  }
  return total / 1000;
}

const fmtMs = (ms: number) => (ms < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`);

/** Zipkin's spans of one trace as waterfall rows (parents before children) and the marked span. */
export function waterfallOf(spans: readonly ZipkinSpan[]): Pick<Waterfall, 'spans' | 'mark'> {
  const timed = spans.filter((s) => s.timestamp !== undefined);
  if (timed.length === 0) return { spans: [] };
  const t0 = Math.min(...timed.map((s) => s.timestamp as number));
  const ids = new Set(timed.map((s) => s.id));
  const children = new Map<string, ZipkinSpan[]>();
  const roots: ZipkinSpan[] = [];
  for (const s of timed) {
    // A parent Zipkin never got (k6's own span) makes the span a root.
    if (s.parentId && ids.has(s.parentId) && s.parentId !== s.id) {
      const list = children.get(s.parentId) ?? [];
      list.push(s);
      children.set(s.parentId, list);
    } else roots.push(s);
  }
  const rows: WaterfallSpan[] = [];
  const byStart = (a: ZipkinSpan, b: ZipkinSpan) => (a.timestamp as number) - (b.timestamp as number);
  const visit = (s: ZipkinSpan, depth: number) => {
    const start = s.timestamp as number;
    const duration = s.duration ?? 0;
    const kids = (children.get(s.id) ?? []).sort(byStart);
    const kidIntervals = kids.map((k): [number, number] => [
      k.timestamp as number,
      (k.timestamp as number) + (k.duration ?? 0),
    ]);
    const error = errorOf(s);
    rows.push({
      id: s.id,
      depth,
      service: s.localEndpoint?.serviceName ?? '?',
      name: s.name ?? '',
      ...(s.kind ? { kind: s.kind } : {}),
      startMs: (start - t0) / 1000,
      durationMs: duration / 1000,
      selfMs: Math.max(0, duration / 1000 - covered(kidIntervals, start, start + duration)),
      ...(error ? { error } : {}),
    });
    for (const k of kids) visit(k, depth + 1);
  };
  for (const r of roots.sort(byStart)) visit(r, 0);

  // The deepest failed span is where the failure started; its ancestors only passed it on.
  const failed = rows.filter((r) => r.error !== undefined).sort((a, b) => b.depth - a.depth);
  const culprit = failed[0];
  if (culprit)
    return {
      spans: rows,
      mark: {
        spanId: culprit.id,
        text: `${culprit.service} ${culprit.name}: ${culprit.error} after ${fmtMs(culprit.durationMs)}`,
      },
    };
  const slowest = [...rows].sort((a, b) => b.selfMs - a.selfMs)[0];
  return {
    spans: rows,
    ...(slowest
      ? {
          mark: {
            spanId: slowest.id,
            text: `${slowest.service} ${slowest.name}: ${fmtMs(slowest.selfMs)} of its own time (span ${fmtMs(slowest.durationMs)})`,
          },
        }
      : {}),
  };
}

export interface FetchOptions {
  /** How long to keep asking for traces Zipkin has not got yet (spans are exported in batches), ms; default 10 000. */
  readonly waitMs?: number;
  readonly signal?: AbortSignal;
}

/** Whether Zipkin answers at `url` (its `/health`). */
export async function zipkinReachable(url: string, signal?: AbortSignal): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: signal ?? AbortSignal.timeout(2_000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

async function fetchTrace(url: string, traceId: string): Promise<ZipkinSpan[] | undefined> {
  const res = await fetch(`${url}/api/v2/trace/${traceId}`, { signal: AbortSignal.timeout(5_000) });
  if (res.status === 404) {
    await res.body?.cancel();
    return undefined;
  }
  if (!res.ok) throw new Error(`Zipkin answered ${res.status} for trace ${traceId}`);
  return (await res.json()) as ZipkinSpan[];
}

/** The picked requests' waterfalls from Zipkin at `url`. */
export async function fetchWaterfalls(
  url: string,
  picks: readonly { request: TracedRequest; why: PickReason }[],
  options: FetchOptions = {},
): Promise<Waterfall[]> {
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  const found = new Map<string, ZipkinSpan[]>();
  const errors = new Map<string, string>();
  let pending = picks.map((p) => p.request.traceId);
  while (pending.length > 0) {
    const still: string[] = [];
    for (const id of pending) {
      try {
        const spans = await fetchTrace(url, id);
        if (spans && spans.length > 0) found.set(id, spans);
        else still.push(id);
      } catch (err) {
        errors.set(id, (err as Error).message);
      }
    }
    pending = still;
    if (pending.length === 0 || Date.now() >= deadline || options.signal?.aborted) break;
    await new Promise((r) => setTimeout(r, 1_000));
  }
  return picks.map(({ request, why }) => {
    const spans = found.get(request.traceId);
    if (!spans)
      return {
        request,
        why,
        spans: [],
        missing: errors.get(request.traceId) ?? 'not in Zipkin (the trace was not exported or not sampled)',
      };
    return { request, why, ...waterfallOf(spans) };
  });
}
