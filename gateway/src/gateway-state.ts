/**
 * What one request sees of the gateway's configuration: the validated config,
 * its routes in match order, the authenticator, one mesh client per upstream
 * and one stale-if-error cache per route that has one. Swapped whole on
 * reload, so a request sees one config from start to end.
 */
import type { Upstream } from '@breakwater/mesh/client';
import type { Authenticator } from './auth.ts';
import type { GatewayConfig, RouteConfig } from './config.ts';
import { orderRoutes } from './request-target.ts';
import { StaleCache } from './stale-cache.ts';

export interface GatewayState {
  readonly config: GatewayConfig;
  readonly routes: readonly RouteConfig[];
  readonly auth: Authenticator;
  readonly upstreams: ReadonlyMap<string, Upstream>;
  /** By route name: the last good answers of routes with staleIfError. */
  readonly stale: ReadonlyMap<string, StaleCache>;
}

export function buildState(
  config: GatewayConfig,
  auth: Authenticator,
  upstreams: ReadonlyMap<string, Upstream>,
  previous?: GatewayState,
): GatewayState {
  const stale = new Map<string, StaleCache>();
  for (const route of config.routes) {
    if (!route.staleIfError) continue;
    // A reload keeps what a route has kept unless its limits changed.
    const prev = previous?.stale.get(route.name);
    stale.set(
      route.name,
      prev && JSON.stringify(prev.config) === JSON.stringify(route.staleIfError)
        ? prev
        : new StaleCache(route.staleIfError),
    );
  }
  return Object.freeze({ config, routes: orderRoutes(config.routes), auth, upstreams, stale });
}
