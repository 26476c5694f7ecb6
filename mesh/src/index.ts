/**
 * @breakwater/mesh — the service-to-service layer. The client side lives
 * here; the server kit is `@breakwater/mesh/server`.
 */
export * from './backoff.ts';
export * from './breaker.ts';
export * from './budget.ts';
export * from './bulkhead.ts';
export * from './client/index.ts';
export * from './deadline.ts';
export * from './env.ts';
export * from './errors.ts';
export * from './policy.ts';
export * from './problem.ts';
export * from './timeout.ts';
