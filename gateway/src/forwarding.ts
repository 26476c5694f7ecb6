/**
 * Header hygiene between client and upstream: hop-by-hop fields removed both
 * ways (RFC 9110 §7.6.1, plus whatever `Connection` names), credentials and
 * spoofable identity headers dropped, X-Forwarded-* and the consumer set by
 * the gateway, a request id and W3C trace context always present.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Set by the gateway only: a client's own value is dropped, never trusted. */
const GATEWAY_OWNED = new Set([
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'forwarded',
  'x-real-ip',
  'x-consumer-username',
  'x-consumer-id',
  'x-credential-identifier',
  'x-anonymous-consumer',
  'x-request-id',
  'traceparent',
  'tracestate',
  // Deadlines are the gateway's to set (the mesh client sends x-bw-timeout-ms per try).
  'x-bw-timeout-ms',
  'grpc-timeout',
  'x-envoy-expected-rq-timeout-ms',
  // The gateway authenticates; the upstream never sees the client's credentials (Kong's hide_credentials).
  'authorization',
  'apikey',
]);

function connectionTokens(v: string | string[] | undefined): Set<string> | undefined {
  if (v === undefined) return undefined;
  const s = new Set<string>();
  for (const part of (Array.isArray(v) ? v.join(',') : v).split(',')) s.add(part.trim().toLowerCase());
  return s;
}

export interface ForwardContext {
  clientIp: string;
  /** Client-supplied X-Forwarded-For kept only when the gateway trusts hops in front of it. */
  trustedHops: number;
  proto: 'http' | 'https';
  host: string | undefined;
  requestId: string;
  /** Undefined when the mesh client injects trace context (a tracing SDK is registered). */
  traceparent: string | undefined;
  tracestate: string | undefined;
  consumer: string | undefined;
  prefix: string | undefined;
}

/** The headers sent upstream, flattened to one string per field (the mesh client's shape), in one pass. */
export function upstreamRequestHeaders(
  incoming: IncomingHttpHeaders,
  ctx: ForwardContext,
): Record<string, string> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string> = {};
  for (const k in incoming) {
    const v = incoming[k];
    if (v === undefined || HOP_BY_HOP.has(k) || GATEWAY_OWNED.has(k) || k === 'host' || named?.has(k))
      continue;
    out[k] = typeof v === 'string' ? v : v.join(k === 'cookie' ? '; ' : ', ');
  }
  const xff = ctx.trustedHops > 0 ? incoming['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = xff
    ? `${Array.isArray(xff) ? xff.join(', ') : xff}, ${ctx.clientIp}`
    : ctx.clientIp;
  out['x-forwarded-proto'] = ctx.proto;
  if (ctx.host !== undefined) out['x-forwarded-host'] = ctx.host;
  if (ctx.prefix !== undefined) out['x-forwarded-prefix'] = ctx.prefix;
  out['x-request-id'] = ctx.requestId;
  if (ctx.traceparent !== undefined) out.traceparent = ctx.traceparent;
  if (ctx.tracestate !== undefined) out.tracestate = ctx.tracestate;
  if (ctx.consumer !== undefined) out['x-consumer-username'] = ctx.consumer;
  else out['x-anonymous-consumer'] = 'true';
  return out;
}

export function clientResponseHeaders(
  upstream: Record<string, string | string[] | undefined>,
): OutgoingHttpHeaders {
  const named = connectionTokens(upstream.connection);
  const out: OutgoingHttpHeaders = {};
  for (const k in upstream) {
    const v = upstream[k];
    if (v === undefined || HOP_BY_HOP.has(k) || named?.has(k)) continue;
    out[k] = v;
  }
  return out;
}

/**
 * Random bytes from a pool refilled 4 KiB at a time: ids are needed on every
 * request, and one randomFillSync per request showed in profiles.
 */
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let poolAt = 0;
function randomSlice(n: number): Buffer {
  if (poolAt + n > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolAt = 0;
  }
  const out = pool.subarray(poolAt, poolAt + n);
  poolAt += n;
  return out;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{8,128}$/;
export function requestIdOf(incoming: string | string[] | undefined): string {
  if (typeof incoming === 'string' && REQUEST_ID.test(incoming)) return incoming;
  return randomSlice(12).toString('base64url');
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The traceparent sent upstream: the client's trace id kept (so traces join),
 * with a new parent id for the gateway hop; a fresh trace when the client sent
 * none or an invalid one.
 */
export function nextTraceparent(incoming: string | string[] | undefined): string {
  const m = typeof incoming === 'string' ? TRACEPARENT.exec(incoming) : null;
  const traceId = m && m[1] !== '0'.repeat(32) ? m[1] : randomSlice(16).toString('hex');
  const flags = m ? m[3] : '01';
  return `00-${traceId}-${randomSlice(8).toString('hex')}-${flags}`;
}
