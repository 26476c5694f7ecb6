/**
 * RED metrics of the edge, per request: requests by route, consumer and status
 * class; duration by method, route and status class; time waited on the
 * upstream. Labelled children are cached by their label values: prom-client
 * hashes a labels object on every call otherwise, and this runs on every
 * request. The cache is a tree of Maps keyed by the label strings themselves
 * (config and literal strings, their hashes kept by V8), so a lookup builds
 * no key string per request. The histograms' entries are bound observers
 * (observability's `boundObserver`): a prom-client child still hashes its
 * labels into a string on every observation (~0.8 KB of garbage each).
 */
import { boundObserver, counter, histogram, statusClass } from '@breakwater/observability';
import type { RequestContext } from './context.ts';

export interface Recorder {
  upstream(ctx: RequestContext, sc: string): void;
  request(ctx: RequestContext, status: number): void;
}

type Tree<T> = Map<string, Map<string, Map<string, T>>>;

/** The cached entry for three label values, made by `make(a, b, c)` the first time. */
function childOf<T>(
  tree: Tree<T>,
  make: (a: string, b: string, c: string) => T,
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
    child = make(a, b, c);
    abc.set(c, child);
  }
  return child;
}

export function createRecorder(): Recorder {
  const requests = counter('gatewayRequests');
  const serverDuration = histogram('httpServerDuration');
  const upstreamDuration = histogram('gatewayUpstreamDuration');
  const requestChild = (route: string, consumer: string, sc: string) => requests.labels(route, consumer, sc);
  const serverObserver = (method: string, route: string, sc: string) =>
    boundObserver(serverDuration, { method, route, status_class: sc });
  const upstreamObserver = (route: string, upstream: string, sc: string) =>
    boundObserver(upstreamDuration, { route, upstream, status_class: sc });
  const requestsBy: Tree<{ inc(): void }> = new Map();
  const durationBy: Tree<(seconds: number) => void> = new Map();
  const upstreamBy: Tree<(seconds: number) => void> = new Map();
  return {
    upstream(ctx, sc) {
      const route = ctx.route as NonNullable<RequestContext['route']>;
      const observe = childOf(upstreamBy, upstreamObserver, route.name, route.upstream, sc);
      observe((performance.now() - ctx.upstreamStart) / 1000);
    },
    request(ctx, status) {
      const sc = statusClass(status);
      childOf(requestsBy, requestChild, ctx.routeName, ctx.consumer, sc).inc();
      const observe = childOf(durationBy, serverObserver, ctx.method, ctx.routeName, sc);
      observe((performance.now() - ctx.start) / 1000);
    },
  };
}
