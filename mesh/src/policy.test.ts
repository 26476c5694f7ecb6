import { describe, expect, it } from 'vitest';
import { isMeshError } from './errors.ts';
import { POLICY_MAPPING, parsePolicy } from './policy.ts';

function leaves(o: unknown, prefix = ''): string[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [prefix];
  return Object.entries(o).flatMap(([k, v]) => leaves(v, prefix ? `${prefix}.${k}` : k));
}

describe('policy', () => {
  it('maps every field onto Envoy/Istio (or says why not), and maps nothing that does not exist', () => {
    // Optional groups (absent from the defaults) are one row each.
    const optional = ['breaker.probe'];
    const fields = [...leaves(parsePolicy({})), ...optional].sort();
    const mapped = POLICY_MAPPING.map((r) => r.field).sort();
    expect(mapped).toEqual(fields);
    for (const row of POLICY_MAPPING) {
      // A field with no proxy equivalent must say so in a note.
      if (row.envoy === null && row.istio === null) expect(row.note, row.field).toBeTruthy();
    }
  });

  it('applies defaults, freezes, and refuses unknown keys, 4xx retry statuses and crossed bounds', () => {
    const p = parsePolicy({ bulkhead: { maxConcurrent: 8 } }, 'orders');
    expect(p.bulkhead).toEqual({ maxConcurrent: 8, maxQueue: 64 });
    expect(p.retry.budget.percent).toBe(20);
    expect(Object.isFrozen(p.bulkhead)).toBe(true);
    const bad = (input: unknown) => {
      try {
        parsePolicy(input, 'svc');
      } catch (e) {
        expect(isMeshError(e, 'MESH_ERR_INVALID_POLICY')).toBe(true);
        return (e as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(bad({ retry: { statuses: [429] } })).toContain('policy.svc.retry.statuses.0');
    expect(bad({ breaker: { unknown: 1 } })).toContain('unknown');
    expect(bad({ timeoutMs: 5_000, deadlineMs: 1_000 })).toContain(
      'policy.svc.timeoutMs: must not exceed deadlineMs',
    );
    expect(bad({ retry: { backoff: { baseMs: 500, capMs: 100 } } })).toContain(
      'policy.svc.retry.backoff.baseMs',
    );
    expect(bad({ breaker: { rollingWindowMs: 10_000, rollingBuckets: 3 } })).toContain('rollingBuckets');
    expect(bad({ timeoutMs: 'fast' })).toContain('policy.svc.timeoutMs');
  });
});
