/**
 * RED metrics of the edge, per request: requests by route, consumer and status
 * class; duration by method, route and status class; time waited on the
 * upstream. Labelled children are cached by their label values: prom-client
 * hashes a labels object on every call otherwise, and this runs on every
 * request.
 */
import { counter, histogram, statusClass } from '@breakwater/observability';
import type { RequestContext } from './context.ts';

export interface Recorder {
  upstream(ctx: RequestContext, sc: string): void;
  request(ctx: RequestContext, status: number): void;
}

export function createRecorder(): Recorder {
  const requests = counter('gatewayRequests');
  const serverDuration = histogram('httpServerDuration');
  const upstreamDuration = histogram('gatewayUpstreamDuration');
  const requestsBy = new Map<string, { inc(): void }>();
  const durationBy = new Map<string, { observe(v: number): void }>();
  const upstreamBy = new Map<string, { observe(v: number): void }>();
  return {
    upstream(ctx, sc) {
      const route = ctx.route as NonNullable<RequestContext['route']>;
      const k = `${route.name}\0${route.upstream}\0${sc}`;
      let h = upstreamBy.get(k);
      if (!h) {
        h = upstreamDuration.labels(route.name, route.upstream, sc);
        upstreamBy.set(k, h);
      }
      h.observe((performance.now() - ctx.upstreamStart) / 1000);
    },
    request(ctx, status) {
      const sc = statusClass(status);
      const rk = `${ctx.routeName}\0${ctx.consumer}\0${sc}`;
      let r = requestsBy.get(rk);
      if (!r) {
        r = requests.labels(ctx.routeName, ctx.consumer, sc);
        requestsBy.set(rk, r);
      }
      r.inc();
      const dk = `${ctx.method}\0${ctx.routeName}\0${sc}`;
      let d = durationBy.get(dk);
      if (!d) {
        d = serverDuration.labels(ctx.method, ctx.routeName, sc);
        durationBy.set(dk, d);
      }
      d.observe((performance.now() - ctx.start) / 1000);
    },
  };
}
