/**
 * @breakwater/gateway: the edge. Start it with `node gateway/src/main.ts`;
 * import these to embed it (tests) or to reuse its config (its renderers to
 * Kong and Envoy are build-time code in tools/render).
 */
export { type GatewayOptions, type RunningGateway, startGateway } from './app.ts';
export { Authenticator, type Principal } from './auth.ts';
export {
  type GatewayConfig,
  type LoadedConfig,
  loadConfig,
  parseConfigText,
  resolveUpstreamUrls,
  upstreamEnvName,
  validateConfig,
} from './config.ts';
export { mintDevToken } from './dev-tokens.ts';
export { ConfigError, GatewayError, type GatewayErrorCode, GW_ERRORS, isGatewayError } from './errors.ts';
export { type Decision, RateLimiter } from './rate-limit.ts';
export { rateLimitHeaders } from './rate-limit-headers.ts';
// Which upstream and path a request goes to (tools/render checks the mesh rules allow it).
export { matchRoute, orderRoutes, upstreamPath } from './request-target.ts';
