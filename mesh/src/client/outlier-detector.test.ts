/**
 * The outlier detector against what Envoy's documentation (and
 * outlier_detection_impl.cc) specifies for the same numbers. Each row is a
 * script of steps on a fake clock:
 *   `a 500x5`   endpoint a gets five 500s     `+10000` advance 10 s and sweep
 *   `=a,b`      a and b are ejected, no other `=`       nothing is ejected
 */
import { describe, expect, it } from 'vitest';
import { type OutlierPolicyInput, parsePolicy } from '../policy.ts';
import { type EjectionType, OutlierDetector } from './outlier-detector.ts';

interface Row {
  name: string;
  hosts: string;
  policy: OutlierPolicyInput;
  script: string;
  /** Ejections by type at the end, when the row checks them. */
  types?: EjectionType[];
}

/** Mostly every detector enforced and no ejection cap, so a row tests one rule. */
const OPEN = { maxEjectionPercent: 100 } as const;

/** Failure percentage on and enforced (threshold 50 %, volume 10, 3 hosts), consecutive 5xx out of the way. */
const FAILURE_PCT = {
  ...OPEN,
  consecutive5xx: 1000,
  failurePercentageThreshold: 50,
  enforcingFailurePercentage: 100,
  failurePercentageRequestVolume: 10,
  failurePercentageMinimumHosts: 3,
} as const;

const ROWS: Row[] = [
  {
    name: 'consecutive_5xx 5: the fifth 500 in a row ejects at once, not before',
    hosts: 'a b c',
    policy: OPEN,
    script: 'a 500x4 = a 500 =a',
    types: ['consecutive_5xx'],
  },
  {
    name: 'a non-5xx resets the consecutive count',
    hosts: 'a b c',
    policy: OPEN,
    script: 'a 500x4 a 200 a 500x4 = a 500 =a',
  },
  {
    name: 'connect failures (503) and try timeouts (504) count as 5xx',
    hosts: 'a b c',
    policy: OPEN,
    script: 'a 503x2 a 504x2 = a 503 =a',
  },
  {
    name: 'consecutive_gateway_failure is detected but not enforced by default (enforcing 0)',
    hosts: 'a b c',
    policy: { ...OPEN, consecutive5xx: 100, consecutiveGatewayFailure: 3 },
    script: 'a 503x3 = a 502x10 =',
  },
  {
    name: 'consecutive_gateway_failure enforced: a 500 resets the gateway count, not the 5xx count',
    hosts: 'a b c',
    policy: {
      ...OPEN,
      consecutive5xx: 100,
      consecutiveGatewayFailure: 3,
      enforcingConsecutiveGatewayFailure: 100,
    },
    script: 'a 503x2 a 500 a 503x2 = a 504 =a',
    types: ['consecutive_gateway_failure'],
  },
  {
    name: 'max_ejection_percent 10 (Envoy default): with 3 hosts one ejection would be 33 %: none',
    hosts: 'a b c',
    policy: { maxEjectionPercent: 10 },
    script: 'a 500x20 =',
  },
  {
    name: 'max_ejection_percent 10 with 10 hosts: the first ejection (10 %) yes, the second (20 %) no',
    hosts: 'a b c d e f g h i j',
    policy: { maxEjectionPercent: 10 },
    script: 'a 500x5 =a b 500x5 =a',
  },
  {
    name: 'max_ejection_percent 50 with 3 hosts: one ejected, a second would be 67 %',
    hosts: 'a b c',
    policy: { maxEjectionPercent: 50 },
    script: 'a 500x5 b 500x5 =a',
  },
  {
    name: 'base_ejection_time 30 s × 1: back at the first sweep 30 s after the ejection (interval 10 s)',
    hosts: 'a b c',
    policy: OPEN,
    script: 'a 500x5 =a +10000 =a +10000 =a +10000 =',
  },
  {
    name: 'ejected again at once: 30 s × 2 = 60 s',
    hosts: 'a b c',
    policy: OPEN,
    script: 'a 500x5 +30000 = a 500x5 =a +50000 =a +10000 =',
  },
  {
    name: 'healthy for an interval after coming back: the multiplier goes down again (2 → 1)',
    hosts: 'a b c',
    policy: OPEN,
    // ejected twice (backoff 2), back at 90 s; sweeps at 100 s and 110 s bring it to 0, a third ejection is 30 s × 1
    script: 'a 500x5 +30000 a 500x5 +60000 = +10000 +10000 a 500x5 =a +30000 =',
  },
  {
    name: 'max_ejection_time caps the growing ejection (base 30 s, max 40 s: second ejection 40 s, not 60 s)',
    hosts: 'a b c',
    policy: { ...OPEN, maxEjectionTimeMs: 40_000 },
    script: 'a 500x5 +30000 a 500x5 =a +30000 =a +10000 =',
  },
  {
    name: 'an ejected host is not ejected again and comes back with its counters reset',
    hosts: 'a b c',
    policy: OPEN,
    script: 'a 500x5 a 500x5 =a +30000 = a 500x4 =',
  },
  {
    name: 'failure_percentage 50 (enforced, volume 10, 3 hosts): 60 % failing in the last interval ejects at the sweep',
    hosts: 'a b c',
    policy: FAILURE_PCT,
    script: 'a 500 a 200 a 500 a 200 a 500x2 a 200 a 500x2 a 200 b 200x10 c 200x10 = +10000 =a',
    types: ['failure_percentage'],
  },
  {
    name: 'failure_percentage: fewer hosts with the request volume than minimum_hosts: nothing',
    hosts: 'a b c',
    policy: FAILURE_PCT,
    script: 'a 500x10 b 200x10 c 200x9 +10000 =',
  },
  {
    name: 'failure_percentage is not enforced by default (enforcing 0)',
    hosts: 'a b c d e',
    policy: { ...OPEN, consecutive5xx: 1000 },
    script: 'a 500x50 b 200x50 c 200x50 d 200x50 e 200x50 +10000 =',
  },
  {
    name: 'failure_percentage judges one interval: failures of an older one (then below minimum_hosts) do not carry over',
    hosts: 'a b c',
    policy: FAILURE_PCT,
    script: 'a 500x10 +10000 = a 200x10 b 200x10 c 200x10 +10000 =',
  },
];

function run(row: Row): { ejected: string[]; types: EjectionType[] } {
  let now = 0;
  const types: EjectionType[] = [];
  const od = parsePolicy({ outlierDetection: row.policy }).outlierDetection;
  const d = new OutlierDetector<string>(
    od,
    () => now,
    () => 0,
    { eject: (_k, t) => types.push(t) },
  );
  const hosts = row.hosts.split(' ');
  for (const h of hosts) d.add(h);
  const tokens = row.script.split(' ');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as string;
    if (t.startsWith('+')) {
      now += Number(t.slice(1));
      d.sweep();
    } else if (t.startsWith('=')) {
      const want = t.slice(1) ? t.slice(1).split(',') : [];
      expect(
        hosts.filter((h) => d.isEjected(h)),
        `${row.name}: after step ${i} (${t})`,
      ).toEqual(want);
    } else {
      const [status, times] = (tokens[++i] as string).split('x');
      for (let n = 0; n < Number(times ?? 1); n++) d.put(t, Number(status));
    }
  }
  return { ejected: hosts.filter((h) => d.isEjected(h)), types };
}

describe('outlier detection with Envoy semantics (fake clock)', () => {
  it.each(ROWS.map((r) => [r.name, r]))('%s', (_name, row) => {
    const { types } = run(row);
    if (row.types) expect(types).toEqual(row.types);
  });

  it('defaults are Envoy defaults, except max_ejection_percent (50)', () => {
    expect(parsePolicy({}).outlierDetection).toEqual({
      enabled: true,
      consecutive5xx: 5,
      enforcingConsecutive5xx: 100,
      consecutiveGatewayFailure: 5,
      enforcingConsecutiveGatewayFailure: 0,
      failurePercentageThreshold: 85,
      enforcingFailurePercentage: 0,
      failurePercentageRequestVolume: 50,
      failurePercentageMinimumHosts: 5,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionTimeMs: 300_000,
      maxEjectionPercent: 50,
    });
  });

  it('refuses base_ejection_time above max_ejection_time, naming the field', () => {
    expect(() =>
      parsePolicy({ outlierDetection: { baseEjectionTimeMs: 5_000, maxEjectionTimeMs: 1_000 } }, 'c'),
    ).toThrow('policy.c.outlierDetection.baseEjectionTimeMs: must not exceed maxEjectionTimeMs');
  });

  it('a removed host frees its ejection slot', () => {
    const od = parsePolicy({ outlierDetection: { maxEjectionPercent: 50 } }).outlierDetection;
    const d = new OutlierDetector<string>(
      od,
      () => 0,
      () => 0,
    );
    for (const h of ['a', 'b', 'c']) d.add(h);
    for (let i = 0; i < 5; i++) d.put('a', 500);
    for (let i = 0; i < 5; i++) d.put('b', 500);
    expect([d.isEjected('a'), d.isEjected('b'), d.ejectedCount]).toEqual([true, false, 1]);
    d.remove('a');
    d.add('d');
    for (let i = 0; i < 5; i++) d.put('b', 500);
    expect([d.isEjected('b'), d.ejectedCount]).toEqual([true, 1]);
  });
});
