/**
 * RED metrics of the edge, per request: requests by route, consumer and status
 * class; duration by method, route and status class; time waited on the
 * upstream. Labelled children are cached by their label values: prom-client
 * hashes a labels object on every call otherwise, and this runs on every
 * request. The cache is a tree of Maps keyed by the label strings themselves
 * (config and literal strings, their hashes kept by V8), so a lookup builds
 * no key string per request.
 */
import { counter, histogram, statusClass } from '@breakwater/observability';
import type { RequestContext } from './context.ts';

export interface Recorder {
  upstream(ctx: RequestContext, sc: string): void;
  request(ctx: RequestContext, status: number): void;
}

type Tree<T> = Map<string, Map<string, Map<string, T>>>;

/** The cached child of `metric` for three label values (in its label order), made the first time. */
function childOf<T>(
  tree: Tree<T>,
  metric: { labels(a: string, b: string, c: string): T },
  a: string,
  b: string,
  c: string,
): T {
  let ab = tree.get(a);
  if (ab === undefined) {
    ab = new Map();
    tree.set(a, ab);
  }
  let abc = ab.get(b);
  if (abc === undefined) {
    abc = new Map();
    ab.set(b, abc);
  }
  let child = abc.get(c);
  if (child === undefined) {
    child = metric.labels(a, b, c);
    abc.set(c, child);
  }
  return child;
}

export function createRecorder(): Recorder {
  const requests = counter('gatewayRequests');
  const serverDuration = histogram('httpServerDuration');
  const upstreamDuration = histogram('gatewayUpstreamDuration');
  const requestsBy: Tree<{ inc(): void }> = new Map();
  const durationBy: Tree<{ observe(v: number): void }> = new Map();
  const upstreamBy: Tree<{ observe(v: number): void }> = new Map();
  return {
    upstream(ctx, sc) {
      const route = ctx.route as NonNullable<RequestContext['route']>;
      childOf(upstreamBy, upstreamDuration, route.name, route.upstream, sc).observe(
        (performance.now() - ctx.upstreamStart) / 1000,
      );
    },
    request(ctx, status) {
      const sc = statusClass(status);
      childOf(requestsBy, requests, ctx.routeName, ctx.consumer, sc).inc();
      childOf(durationBy, serverDuration, ctx.method, ctx.routeName, sc).observe(
        (performance.now() - ctx.start) / 1000,
      );
    },
  };
}
