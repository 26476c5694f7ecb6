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
 * | try-handler.ts | what both try handlers share: the try settled once, its timer stopped |
 * | dispatch-handler.ts | the undici dispatch handler of a buffered try |
 * | streaming-try.ts | the undici dispatch handler of a streaming try, and the streamed response (`sendTo`, `body`, `discard`) |
 * | error-mapping.ts | every failure as a MeshError with a stable code |
 * | telemetry.ts | metrics (outcomes from the catalogue) and spans |
 * | endpoint-source.ts | where endpoints come from: the interface and the static source |
 * | endpoints-file.ts | a watched endpoints file (file-based EDS) |
 * | endpoints-dns.ts | the addresses of a DNS name, re-resolved (a headless Service; Envoy's STRICT_DNS) |
 * | endpoint-picker.ts | least_request (power of two choices), round_robin, random; previous_hosts |
 * | outlier-detector.ts | per-endpoint outlier detection with Envoy's semantics |
 * | load-balancer.ts | several endpoints: a pool each, candidates, panic mode, detector timer, metrics |
 * | response.ts, types.ts | the public shapes |
 */
export type { BreakerState } from '../breaker.ts';
export {
  type EndpointLog,
  type EndpointSource,
  type EndpointSpec,
  staticEndpoints,
} from './endpoint-source.ts';
export { type DnsEndpointsOptions, dnsEndpoints } from './endpoints-dns.ts';
export { readEndpointsFile, watchEndpointsFile } from './endpoints-file.ts';
export {
  type HeaderValues,
  MeshResponse,
  type MeshStreamResponse,
  type StreamObserver,
  staticResponse,
} from './response.ts';
export type { CallOptions, Disposable, Fallback, Upstream, UpstreamOptions, UpstreamStats } from './types.ts';
export { createUpstream } from './upstream.ts';
