import { describe, expect, it } from 'vitest';
import { readServiceEnv } from './env.ts';

describe('readServiceEnv', () => {
  it('reads and freezes the service environment with defaults', () => {
    const env = readServiceEnv({ BW_SERVICE: 'catalog', PORT: '4001' });
    expect(env).toMatchObject({ HOST: '127.0.0.1', PORT: 4001, BW_SERVICE: 'catalog', LOG_LEVEL: 'info' });
    expect(Object.isFrozen(env)).toBe(true);
  });

  it('names the bad variable', () => {
    expect(() => readServiceEnv({})).toThrow(/BW_SERVICE/);
    expect(() => readServiceEnv({ BW_SERVICE: 'catalog', PORT: 'http' })).toThrow(/PORT/);
    expect(() => readServiceEnv({ BW_SERVICE: 'catalog', BW_ADMIN_PORT: '9000' })).toThrow(/BW_ADMIN_TOKEN/);
    expect(() =>
      readServiceEnv({ BW_SERVICE: 'catalog', BW_ADMIN_PORT: '9000', BW_ADMIN_TOKEN: 'short' }),
    ).toThrow(/BW_ADMIN_TOKEN: must be at least 16/);
  });
});
