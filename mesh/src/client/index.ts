/**
 * The mesh client, one file per role:
 *
 * | file | role |
 * |---|---|
 * | upstream.ts | the factory (`createUpstream`) and the call: bulkhead → retry → breaker → try |
 * | retry-view.ts | policy normalisation per call (options check, retry override merge) |
 * | call.ts | per-call state: the normalised request, deadline, the try's abort channel |
 * | bulkhead-wait.ts | waiting for a bulkhead slot |
 * | retry-loop.ts | retries: decision, budget, backoff, Retry-After |
 * | ../breaker.ts | the opossum adapter (shared with catalog's store breaker): typed state events, growing open interval |
 * | try.ts | one try with its per-try timeout |
 * | dispatch-handler.ts | the undici dispatch handler of a buffered try |
 * | error-mapping.ts | every failure as a MeshError with a stable code |
 * | telemetry.ts | metrics (outcomes from the catalogue) and spans |
 * | response.ts, types.ts | the public shapes |
 */
export type { BreakerState } from '../breaker.ts';
export { type HeaderValues, MeshResponse, type MeshStreamResponse, staticResponse } from './response.ts';
export type { CallOptions, Disposable, Fallback, Upstream, UpstreamOptions, UpstreamStats } from './types.ts';
export { createUpstream } from './upstream.ts';
