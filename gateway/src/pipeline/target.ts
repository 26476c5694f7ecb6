/**
 * Stage 1, target: what is asked for, before anything else runs. The header
 * count (Node caps the bytes, 431, before we run), the request target's form
 * (request-target.ts), the gateway's own endpoints, the route (longest
 * prefix), the method (405 with Allow, never forwarded) and a declared body
 * size over the limit (413). Throws a GatewayError; sets ctx.route.
 */
import type { RouteConfig } from '../config.ts';
import { GatewayError } from '../errors.ts';
import { matchRoute, parseTarget } from '../request-target.ts';
import { tooLarge } from './body-limit.ts';
import type { InternalEndpoint, RequestContext } from './context.ts';

const INTERNAL = new Map<string, InternalEndpoint>([
  ['/health/live', 'live'],
  ['/health/ready', 'ready'],
  ['/metrics', 'metrics'],
]);

/** The methods a route takes at this path: `methodsAt` narrows `methods` by position. */
export function methodsAt(route: RouteConfig, path: string): readonly string[] {
  const at = route.methodsAt;
  if (at === undefined) return route.methods;
  return (path === route.path ? at.exact : at.below) ?? route.methods;
}

export function target(ctx: RequestContext): void {
  const { config } = ctx.state;
  const { req } = ctx;
  if (req.rawHeaders.length / 2 > config.proxy.maxHeaderCount)
    throw new GatewayError(
      'GW_ERR_HEADERS_TOO_LARGE',
      `At most ${config.proxy.maxHeaderCount} header fields`,
    );
  const { path, search } = parseTarget(req.url);
  ctx.path = path;
  ctx.search = search;
  const internal = INTERNAL.get(path);
  if (internal !== undefined) {
    ctx.internal = internal;
    ctx.routeName = internal === 'metrics' ? 'metrics' : 'health';
    return;
  }

  const route = matchRoute(ctx.state.routes, path);
  if (!route) throw new GatewayError('GW_ERR_NO_ROUTE', 'No route matches this path');
  ctx.route = route;
  ctx.routeName = route.name;
  const allowed = methodsAt(route, path);
  if (!allowed.includes(ctx.method)) {
    throw new GatewayError('GW_ERR_METHOD_NOT_ALLOWED', `${ctx.method} is not allowed here`, {
      headers: { allow: allowed.join(', ') },
    });
  }

  const cl = req.headers['content-length'];
  ctx.hasBody = req.headers['transfer-encoding'] !== undefined || (cl !== undefined && cl !== '0');
  if (cl !== undefined && Number(cl) > config.proxy.bodyLimitBytes)
    throw tooLarge(config.proxy.bodyLimitBytes);
}
