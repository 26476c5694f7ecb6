import type { Pool } from 'undici';
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy.ts';
import { EndpointPicker, type PickableEndpoint } from './endpoint-picker.ts';

const endpoints = (...active: number[]): PickableEndpoint[] =>
  active.map((a, i) => ({
    origin: `http://127.0.0.1:${4000 + i}`,
    pool: undefined as unknown as Pool,
    active: a,
  }));

/** A random source that returns `values` in turn. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

const lb = (policy: 'least_request' | 'round_robin' | 'random', choiceCount = 2) =>
  parsePolicy({ loadBalancer: { policy, choiceCount } }).loadBalancer;

describe('endpoint picker', () => {
  it('least_request: of two random draws, the endpoint with fewer active requests', () => {
    const [a, b, c] = endpoints(5, 1, 3) as [PickableEndpoint, PickableEndpoint, PickableEndpoint];
    // draws a (0.0) and b (0.4): b has fewer; draws a and c: c
    expect(new EndpointPicker(lb('least_request'), sequence(0, 0.4)).pick([a, b, c], undefined)).toBe(b);
    expect(new EndpointPicker(lb('least_request'), sequence(0, 0.9)).pick([a, b, c], undefined)).toBe(c);
    // a tie keeps the first draw
    c.active = 5;
    expect(new EndpointPicker(lb('least_request'), sequence(0.9, 0)).pick([a, b, c], undefined)).toBe(c);
  });

  it('least_request with real randomness spreads load away from the busy endpoint', () => {
    const eps = endpoints(0, 0, 50);
    const picker = new EndpointPicker(lb('least_request'), Math.random);
    const counts = new Map<PickableEndpoint, number>();
    for (let i = 0; i < 3_000; i++) {
      const e = picker.pick(eps, undefined);
      counts.set(e, (counts.get(e) ?? 0) + 1);
    }
    // the busy one only wins when both draws land on it: 1/9 of picks
    expect(counts.get(eps[2] as PickableEndpoint) ?? 0).toBeLessThan(3_000 * 0.16);
  });

  it('round_robin takes each endpoint in turn', () => {
    const eps = endpoints(0, 0, 0);
    const picker = new EndpointPicker(lb('round_robin'), Math.random);
    const picked = Array.from({ length: 6 }, () => eps.indexOf(picker.pick(eps, undefined)));
    expect(picked).toEqual([1, 2, 0, 1, 2, 0]);
  });

  it('random takes the endpoint the draw lands on', () => {
    const eps = endpoints(0, 0, 0);
    const picker = new EndpointPicker(lb('random'), sequence(0.1, 0.5, 0.9));
    expect([0, 1, 2].map(() => eps.indexOf(picker.pick(eps, undefined)))).toEqual([0, 1, 2]);
  });

  it('a retry avoids the endpoint of the failed try where another exists (previous_hosts)', () => {
    const eps = endpoints(0, 9, 9);
    for (const policy of ['least_request', 'round_robin', 'random'] as const) {
      const picker = new EndpointPicker(lb(policy), Math.random);
      for (let i = 0; i < 50; i++) expect(picker.pick(eps, eps[0])).not.toBe(eps[0]);
      // the only candidate is used even if it failed
      expect(picker.pick([eps[0] as PickableEndpoint], eps[0])).toBe(eps[0]);
    }
  });
});
