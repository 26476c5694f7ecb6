/**
 * Stage 2, auth: who is asking (API key or JWT, Kong's key-auth and jwt
 * plugins) and whether the route lets them in (401 / 403). An API key answers
 * synchronously; only a JWT returns a promise, so the common path costs no
 * await.
 */
import type { Principal } from '../auth.ts';
import type { RequestContext } from './context.ts';

export function auth(ctx: RequestContext): Principal | undefined | Promise<Principal> {
  return ctx.state.auth.authenticate(
    ctx.route as NonNullable<RequestContext['route']>,
    ctx.header('apikey'),
    ctx.req.headers.authorization,
  );
}

/** Records who was let in (the metric label and the upstream's X-Consumer-Username). */
export function admitPrincipal(ctx: RequestContext, principal: Principal | undefined): void {
  ctx.principal = principal;
  if (principal) ctx.consumer = principal.consumer;
}
