/**
 * Picks the endpoint of one try among the candidates the load balancer
 * hands it (ready, not ejected — or every ready one in panic):
 *
 * - `least_request`: Envoy's default with equal weights, power of
 *   `choiceCount` choices: draw that many candidates at random (with
 *   replacement, as Envoy) and take the one with the fewest active requests.
 * - `round_robin`: the next candidate in turn.
 * - `random`: one candidate at random.
 *
 * A retry passes the endpoint its failed try went to; it is skipped when
 * another candidate exists (Envoy's previous_hosts retry predicate).
 */
import type { Pool } from 'undici';
import type { UpstreamPolicy } from '../policy.ts';

export type LoadBalancerPolicy = UpstreamPolicy['loadBalancer'];

/** One endpoint of an upstream: its pool and the tries in flight on it. */
export interface PickableEndpoint {
  readonly origin: string;
  readonly pool: Pool;
  /** Tries in flight (Envoy's rq_active per host). */
  active: number;
}

export class EndpointPicker<E extends PickableEndpoint> {
  readonly #p: LoadBalancerPolicy;
  readonly #random: () => number;
  #next = 0;

  constructor(p: LoadBalancerPolicy, random: () => number) {
    this.#p = p;
    this.#random = random;
  }

  /** One of `candidates` (not empty), avoiding `previous` where another exists. */
  pick(candidates: readonly E[], previous: E | undefined): E {
    let from = candidates;
    if (previous !== undefined && candidates.length > 1 && candidates.includes(previous)) {
      from = candidates.filter((e) => e !== previous);
    }
    const n = from.length;
    if (n === 1) return from[0] as E;
    switch (this.#p.policy) {
      case 'round_robin':
        this.#next = (this.#next + 1) % n;
        return from[this.#next] as E;
      case 'random':
        return from[Math.floor(this.#random() * n)] as E;
      default: {
        let best = from[Math.floor(this.#random() * n)] as E;
        for (let i = 1; i < this.#p.choiceCount; i++) {
          const other = from[Math.floor(this.#random() * n)] as E;
          if (other.active < best.active) best = other;
        }
        return best;
      }
    }
  }
}
