/**
 * An endpoint source for a cluster: the addresses a DNS name resolves to,
 * re-resolved every `refreshMs` (Envoy's STRICT_DNS cluster with its
 * dns_refresh_rate, default 5 s). Point it at a headless Service
 * (`catalog.shop.svc.cluster.local` with `clusterIP: None`): its A records
 * are the ready pods, so Kubernetes readiness decides who gets traffic and
 * the client balances and ejects per pod. With Istio doing the balancing,
 * give the ClusterIP URL as `baseUrl` instead (one endpoint).
 *
 * Resolution goes through getaddrinfo (`dns.lookup`), as the pod's resolver
 * and search domains would. A failed or empty resolution keeps the last good
 * set and is logged; the first one must succeed (start-up error).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { MeshError } from '../errors.ts';
import {
  type EndpointLog,
  type EndpointSource,
  type EndpointSpec,
  WARN_TO_STDERR,
  WatchedEndpoints,
} from './endpoint-source.ts';

export interface DnsEndpointsOptions {
  /** The name to resolve, e.g. a headless Service. */
  host: string;
  port: number;
  /** Default `http`. */
  protocol?: 'http' | 'https';
  /** Re-resolve every this many ms (default 5 000, Envoy's dns_refresh_rate). */
  refreshMs?: number;
  /** Where a failed re-resolution is reported (a pino logger fits). */
  log?: EndpointLog;
  /** The resolver (default `dns.lookup` with `all: true`). */
  lookup?: (host: string) => Promise<readonly { address: string; family: number }[]>;
}

const defaultLookup = (host: string) => dnsLookup(host, { all: true });

/** Resolves `host` once (throws MESH_ERR_INVALID_POLICY naming it on failure), then keeps re-resolving. */
export async function dnsEndpoints(o: DnsEndpointsOptions): Promise<EndpointSource> {
  const protocol = o.protocol ?? 'http';
  const refreshMs = o.refreshMs ?? 5_000;
  const lookup = o.lookup ?? defaultLookup;
  const log = o.log ?? WARN_TO_STDERR;
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65_535) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      `dnsEndpoints(${o.host}): port must be 1–65535: ${o.port}`,
    );
  }
  const resolve = async (): Promise<readonly EndpointSpec[]> => {
    const addrs = await lookup(o.host);
    if (addrs.length === 0) throw new Error('no addresses');
    const urls = [
      ...new Set(
        addrs.map((a) => `${protocol}://${a.family === 6 ? `[${a.address}]` : a.address}:${o.port}`),
      ),
    ].sort();
    return Object.freeze(urls.map((url) => Object.freeze({ url, ready: true })));
  };
  let source: WatchedEndpoints;
  try {
    source = new WatchedEndpoints(await resolve());
  } catch (e) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      `dnsEndpoints: cannot resolve ${o.host}: ${(e as Error).message}`,
    );
  }
  const refresh = async () => {
    try {
      source.update(await resolve());
    } catch (e) {
      log.warn(
        { host: o.host, error: (e as Error).message },
        'DNS endpoints unresolvable; keeping the last good set',
      );
    }
  };
  const timer = setInterval(() => void refresh(), refreshMs);
  timer.unref();
  source.onClose(() => clearInterval(timer));
  return source;
}
