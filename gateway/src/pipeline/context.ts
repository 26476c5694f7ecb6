/**
 * What the stages of one request share: one object per request with a fixed
 * shape (V8 keeps one hidden class for all of them), holding what the old
 * single handler kept in its async frame. It replaces the per-request
 * [route, consumer] tuple and the `.then` closure, so splitting the handler
 * into stages added no allocation per request.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MeshStreamResponse, Upstream } from '@breakwater/mesh/client';
import type { Span } from '@breakwater/observability';
import type { Principal } from '../auth.ts';
import type { RouteConfig } from '../config.ts';
import type { GatewayState } from '../gateway-state.ts';
import type { BodyLimit } from './body-limit.ts';

/** Endpoints the gateway answers itself, on every port, never routed. */
export type InternalEndpoint = 'live' | 'ready' | 'metrics';

export class RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  readonly method: string;
  /** performance.now() when the request arrived. */
  readonly start: number;
  /** The config this request sees from start to end (swapped whole on reload). */
  readonly state: GatewayState;
  /** The SERVER span, when one was started (routed requests). */
  span: Span | undefined = undefined;
  /** A recording span is active: the mesh client injects trace context from it. */
  traced = false;

  // target
  path = '';
  search = '';
  internal: InternalEndpoint | undefined = undefined;
  route: RouteConfig | undefined = undefined;
  /** Metric label: the route's name, `none` before one matched. */
  routeName = 'none';
  hasBody = false;

  // auth
  principal: Principal | undefined = undefined;
  /** Metric label. */
  consumer = 'anonymous';

  // limit
  clientIp = '';
  /** Rate-limit fields for the answer; undefined when no policy applied. */
  rateLimitHeaders: Record<string, string> | undefined = undefined;

  // forward
  upstream: Upstream | undefined = undefined;
  upstreamHeaders: Record<string, string> | undefined = undefined;
  abort: AbortController | undefined = undefined;
  bodyLimit: BodyLimit | undefined = undefined;
  /** performance.now() when the upstream call started. */
  upstreamStart = 0;
  upstreamRes: MeshStreamResponse | undefined = undefined;

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    start: number,
    state: GatewayState,
  ) {
    this.req = req;
    this.res = res;
    this.requestId = requestId;
    this.method = req.method ?? 'GET';
    this.start = start;
    this.state = state;
  }

  /** One request header as a string (the first of a repeated field). */
  header(name: string): string | undefined {
    const v = this.req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  }
}
