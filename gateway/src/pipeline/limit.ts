/**
 * Stage 3, limit: the rate-limit policy that applies (Kong's precedence:
 * route and consumer, then consumer, then route) decided in Redis (or the
 * local fallback when Redis is down). `limit` returns the decision's promise
 * and `admit` applies it, so the runner awaits the limiter's own promise and
 * no wrapper is allocated per request.
 */
import { GatewayError } from '../errors.ts';
import type { Decision, RateLimiter } from '../rate-limit.ts';
import { rateLimitHeaders } from '../rate-limit-headers.ts';
import type { RequestContext } from './context.ts';

/** The client's address: the socket's, or the one `trustedHops` proxies in front reported. */
export function clientIpOf(ctx: RequestContext, trustedHops: number): string {
  const socketIp = ctx.req.socket.remoteAddress ?? 'unknown';
  if (trustedHops === 0) return socketIp;
  const xff = ctx.req.headers['x-forwarded-for'];
  if (typeof xff !== 'string') return socketIp;
  const hops = xff.split(',').map((s) => s.trim());
  return hops[Math.max(0, hops.length - trustedHops)] ?? socketIp;
}

/** The pending decision, or undefined when no policy applies to this route and consumer. */
export function limit(ctx: RequestContext, limiter: RateLimiter): Promise<Decision> | undefined {
  ctx.clientIp = clientIpOf(ctx, ctx.state.config.proxy.trustedHops);
  const policy = limiter.select(ctx.routeName, ctx.principal?.consumer);
  if (!policy) return undefined;
  return limiter.decide(policy, {
    route: ctx.routeName,
    consumer: ctx.principal?.consumer,
    ip: ctx.clientIp,
    path: ctx.path,
    header: (name) => ctx.header(name),
  });
}

/** Applies a decision: its headers go on the answer whatever it is; a refusal is 429. */
export function admit(ctx: RequestContext, decision: Decision): void {
  ctx.rateLimitHeaders = rateLimitHeaders(decision);
  if (!decision.allowed)
    throw new GatewayError('GW_ERR_RATE_LIMITED', 'Rate limit exceeded; retry after the time in Retry-After');
}
