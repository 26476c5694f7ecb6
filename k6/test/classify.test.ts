/** The ok / degraded / failure rules the k6 scripts record (k6/lib/classify.ts), under Node. */
import { describe, expect, it } from 'vitest';
import { classify, isStale } from '../lib/classify.ts';

const res = (status: number, headers: Record<string, string> = {}) => ({ status, headers });

describe('classify', () => {
  it('counts a 2xx as ok, and a 202 as degraded unless the route answers 202 normally', () => {
    expect(classify(res(200))).toEqual({ outcome: 'ok' });
    expect(classify(res(202))).toEqual({ outcome: 'degraded', reason: 'accepted' });
    expect(classify(res(202), [202])).toEqual({ outcome: 'ok' });
  });

  it('counts a stale-marked 2xx as degraded', () => {
    expect(classify(res(200, { Warning: '110 - "Response is Stale"' }))).toEqual({
      outcome: 'degraded',
      reason: 'stale',
    });
    expect(classify(res(200, { 'x-cache': 'stale' })).reason).toBe('stale');
    expect(classify(res(200, { 'Cache-Status': 'bw; hit; stale' })).reason).toBe('stale');
    expect(isStale(res(200, { 'X-Cache': 'hit', Warning: '199 misc' }))).toBe(false);
    // The gateway's stale-if-error answer (RFC 9211): fwd=stale, or a hit past its freshness.
    expect(classify(res(200, { 'Cache-Status': 'bw-gateway; fwd=stale; fwd-status=503' })).reason).toBe(
      'stale',
    );
    expect(isStale(res(200, { 'cache-status': 'origin; hit, bw-gateway; hit; ttl=-12' }))).toBe(true);
    expect(isStale(res(200, { 'Cache-Status': 'bw-gateway; hit; ttl=30' }))).toBe(false);
    expect(isStale(res(200, { 'Cache-Status': 'bw-gateway; fwd=miss; stored' }))).toBe(false);
  });

  it('counts 429 and a 503 with Retry-After as degraded, a bare 503 as a failure', () => {
    expect(classify(res(429, { 'Retry-After': '1' }))).toEqual({
      outcome: 'degraded',
      reason: 'rate_limited',
    });
    expect(classify(res(503, { 'retry-after': '5' }))).toEqual({
      outcome: 'degraded',
      reason: 'unavailable',
    });
    expect(classify(res(503))).toEqual({ outcome: 'failure' });
  });

  it('counts other errors, network errors and timeouts as failures unless the route expects them', () => {
    for (const status of [0, 400, 401, 404, 500, 502, 504])
      expect(classify(res(status)).outcome).toBe('failure');
    expect(classify(res(404), [404])).toEqual({ outcome: 'ok' });
  });
});
