import { describe, expect, it } from 'vitest';
import { formatVerdict, minSamples, type Summary, verdictFrom, withOutcome } from './verdict.ts';

/** A summary with one fault × catalog_list row: `requests` requests, all served, p99 120 ms. */
function summary(requests: number, crossed = false): Summary {
  return {
    metrics: {
      'http_reqs{phase:fault,route:catalog_list}': { count: requests },
      'served{phase:fault,route:catalog_list}': {
        value: crossed ? 0.5 : 1,
        passes: crossed ? requests / 2 : requests,
        fails: crossed ? requests / 2 : 0,
        thresholds: { 'rate>=0.995': crossed },
      },
      'http_req_duration{phase:fault,route:catalog_list}': {
        'p(95)': 100,
        'p(99)': 120,
        thresholds: { 'p(99)<2100': false },
      },
      time_to_recover: { max: 1200, thresholds: { 'max<15000': false } },
    },
  };
}

describe('minSamples', () => {
  it('asks 1/(1−q) samples of a percentile and 50 of a rate, none of a count or max', () => {
    expect(minSamples('p(99)<2100')).toBe(100);
    expect(minSamples('p(95)<500')).toBe(20);
    expect(minSamples('p(50)<300')).toBe(2);
    expect(minSamples('rate>=0.995')).toBe(50);
    expect(minSamples('count>0')).toBe(0);
    expect(minSamples('max<1000')).toBe(0);
  });
});

describe('verdictFrom', () => {
  it('passes a row whose thresholds held over enough samples', () => {
    const v = verdictFrom(summary(150));
    expect(v.rows[0]).toMatchObject({ outcome: 'PASS', pass: true });
    expect(v.outcome).toBe('PASS');
    expect(v.pass).toBe(true);
  });

  it('says INCONCLUSIVE for a p99 held over fewer than 100 requests, and so does the run', () => {
    const v = verdictFrom(summary(60));
    expect(v.rows[0]?.outcome).toBe('INCONCLUSIVE');
    expect(v.rows[0]?.undersampled).toEqual(['latency p(99)<2100 over 60 samples (needs 100)']);
    expect(v.outcome).toBe('INCONCLUSIVE');
    expect(v.pass).toBe(false);
    const table = formatVerdict('catalog-latency', v);
    expect(table).toMatch(/^drill catalog-latency: INCONCLUSIVE/);
    expect(table).toMatch(/fault\s+catalog_list\s+60 .*INCONCLUSIVE/);
    expect(table).toContain('fault catalog_list: latency p(99)<2100 over 60 samples (needs 100)');
  });

  it('says INCONCLUSIVE for a rate over fewer than 50 requests', () => {
    const v = verdictFrom(summary(40));
    expect(v.rows[0]?.undersampled).toContain('served rate>=0.995 over 40 samples (needs 50)');
  });

  it('keeps a crossed threshold a FAIL however few the samples', () => {
    const v = verdictFrom(summary(10, true));
    expect(v.rows[0]).toMatchObject({ outcome: 'FAIL', pass: false });
    expect(v.rows[0]?.undersampled).toBeUndefined();
    expect(v.outcome).toBe('FAIL');
  });

  it('a failed run-wide check fails an otherwise inconclusive run; an interrupted run fails', () => {
    expect(
      verdictFrom(summary(60), [{ name: 'platform whole', value: 'down', threshold: 'up', pass: false }])
        .outcome,
    ).toBe('FAIL');
    expect(withOutcome(verdictFrom(summary(150)), true)).toMatchObject({ outcome: 'FAIL', pass: false });
  });
});
