/**
 * An upstream policy's `loadBalancer` and `outlierDetection` in each proxy's
 * words, as POLICY_MAPPING (mesh/src/policy.ts) says: the same numbers the
 * local mesh client balances and ejects with (client/load-balancer.ts,
 * client/outlier-detector.ts). One function per target, shared by every
 * renderer of that target, each with the list of what the target cannot say.
 *
 * Field names checked against envoy/config/cluster/v3/{cluster,
 * outlier_detection}.proto, istio/api networking/v1alpha3/destination_rule.proto
 * and Envoy Gateway's BackendTrafficPolicy (api/v1alpha1).
 */
import type { UpstreamPolicy } from '@breakwater/mesh/policy';

type Balancing = Pick<UpstreamPolicy, 'loadBalancer' | 'outlierDetection'>;

const ENVOY_LB = { least_request: 'LEAST_REQUEST', round_robin: 'ROUND_ROBIN', random: 'RANDOM' } as const;
const EG_LB = { least_request: 'LeastRequest', round_robin: 'RoundRobin', random: 'Random' } as const;
/** Envoy's and Istio's fixed choice count for LEAST_REQUEST (least_request_lb_config.choice_count default). */
const ENVOY_CHOICE_COUNT = 2;
/** Envoy's default max_ejection_time (Istio and Envoy Gateway cannot set it). */
const ENVOY_MAX_EJECTION_MS = 300_000;

/** A protobuf Duration in Envoy's JSON/YAML form. */
export const envoyDuration = (ms: number): string =>
  ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(3)}s`;
/** An Istio duration (a Go time.Duration string: `0.1s`, `4s`). */
export const istioDuration = (ms: number): string => `${ms / 1000}s`;

/**
 * Envoy cluster fields: lb_policy (+ least_request_lb_config), the panic
 * threshold, and outlier_detection when enabled — every field written out,
 * so Envoy's own defaults never decide (its success-rate detection, on by
 * default, is turned off: the mesh has none).
 */
export function envoyClusterBalancing({ loadBalancer: lb, outlierDetection: od }: Balancing) {
  return {
    lb_policy: ENVOY_LB[lb.policy],
    ...(lb.policy === 'least_request' ? { least_request_lb_config: { choice_count: lb.choiceCount } } : {}),
    common_lb_config: { healthy_panic_threshold: { value: lb.healthyPanicThreshold } },
    ...(od.enabled
      ? {
          outlier_detection: {
            consecutive_5xx: od.consecutive5xx,
            enforcing_consecutive_5xx: od.enforcingConsecutive5xx,
            consecutive_gateway_failure: od.consecutiveGatewayFailure,
            enforcing_consecutive_gateway_failure: od.enforcingConsecutiveGatewayFailure,
            failure_percentage_threshold: od.failurePercentageThreshold,
            enforcing_failure_percentage: od.enforcingFailurePercentage,
            failure_percentage_request_volume: od.failurePercentageRequestVolume,
            failure_percentage_minimum_hosts: od.failurePercentageMinimumHosts,
            enforcing_success_rate: 0,
            interval: envoyDuration(od.intervalMs),
            base_ejection_time: envoyDuration(od.baseEjectionTimeMs),
            max_ejection_time: envoyDuration(od.maxEjectionTimeMs),
            max_ejection_percent: od.maxEjectionPercent,
          },
        }
      : {}),
  };
}

/**
 * Istio DestinationRule.trafficPolicy fields. Istio enforces a consecutive
 * 5xx or gateway-error detection at 100 % and turns it off with 0, has no
 * failure-percentage detection, no maxEjectionTime and no choice count;
 * minHealthPercent is Envoy's healthy_panic_threshold (Istio's default is 0,
 * so it is always written).
 */
export function istioTrafficPolicyBalancing({ loadBalancer: lb, outlierDetection: od }: Balancing) {
  return {
    loadBalancer: { simple: ENVOY_LB[lb.policy] },
    ...(od.enabled
      ? {
          outlierDetection: {
            consecutive5xxErrors: od.enforcingConsecutive5xx > 0 ? od.consecutive5xx : 0,
            ...(od.enforcingConsecutiveGatewayFailure > 0
              ? { consecutiveGatewayErrors: od.consecutiveGatewayFailure }
              : {}),
            interval: istioDuration(od.intervalMs),
            baseEjectionTime: istioDuration(od.baseEjectionTimeMs),
            maxEjectionPercent: od.maxEjectionPercent,
            minHealthPercent: lb.healthyPanicThreshold,
          },
        }
      : {}),
  };
}

/**
 * Envoy Gateway BackendTrafficPolicy fields: loadBalancer.type,
 * healthCheck.panicThreshold and healthCheck.passive (no enforcing
 * percentages, no failure-percentage volume or minimum hosts, no
 * maxEjectionTime). `duration` is the caller's Gateway API duration writer.
 */
export function envoyGatewayBalancing(
  { loadBalancer: lb, outlierDetection: od }: Balancing,
  duration: (ms: number) => string,
) {
  return {
    loadBalancer: { type: EG_LB[lb.policy] },
    healthCheck: {
      panicThreshold: lb.healthyPanicThreshold,
      ...(od.enabled
        ? {
            passive: {
              consecutive5XxErrors: od.enforcingConsecutive5xx > 0 ? od.consecutive5xx : 0,
              ...(od.enforcingConsecutiveGatewayFailure > 0
                ? { consecutiveGatewayErrors: od.consecutiveGatewayFailure }
                : {}),
              ...(od.enforcingFailurePercentage > 0
                ? { failurePercentageThreshold: od.failurePercentageThreshold }
                : {}),
              interval: duration(od.intervalMs),
              baseEjectionTime: duration(od.baseEjectionTimeMs),
              maxEjectionPercent: od.maxEjectionPercent,
            },
          }
        : {}),
    },
  };
}

/**
 * What Istio (`target` 'istio') or Envoy Gateway ('envoy-gateway') cannot
 * express of this policy's balancing, one line each, prefixed with `where`.
 * Empty for the defaults: they are chosen to be expressible everywhere.
 */
export function balancingApproximations(
  target: 'istio' | 'envoy-gateway',
  where: string,
  { loadBalancer: lb, outlierDetection: od }: Balancing,
): string[] {
  const out: string[] = [];
  const name = target === 'istio' ? 'Istio' : 'Envoy Gateway';
  if (lb.policy === 'least_request' && lb.choiceCount !== ENVOY_CHOICE_COUNT)
    out.push(`${where}: loadBalancer.choiceCount ${lb.choiceCount}; ${name} always samples 2`);
  if (!od.enabled) return out;
  for (const [field, pct] of [
    ['enforcingConsecutive5xx', od.enforcingConsecutive5xx],
    ['enforcingConsecutiveGatewayFailure', od.enforcingConsecutiveGatewayFailure],
  ] as const)
    if (pct > 0 && pct < 100)
      out.push(
        `${where}: outlierDetection.${field} ${pct} %; ${name} enforces a detection at 100 % or not at all`,
      );
  if (od.enforcingFailurePercentage > 0 && target === 'istio')
    out.push(
      `${where}: outlierDetection failure percentage (${od.failurePercentageThreshold} %) is not rendered; Istio has no failure-percentage detection`,
    );
  if (
    od.enforcingFailurePercentage > 0 &&
    target === 'envoy-gateway' &&
    (od.failurePercentageRequestVolume !== 50 || od.failurePercentageMinimumHosts !== 5)
  )
    out.push(
      `${where}: outlierDetection.failurePercentageRequestVolume and failurePercentageMinimumHosts are not expressible; Envoy's 50 and 5 apply`,
    );
  if (od.maxEjectionTimeMs !== ENVOY_MAX_EJECTION_MS)
    out.push(
      `${where}: outlierDetection.maxEjectionTimeMs ${od.maxEjectionTimeMs}; ${name} keeps Envoy's 300 s`,
    );
  return out;
}
