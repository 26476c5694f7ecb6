import { describe, expect, it } from 'vitest';
import { isMeshError, MESH_ERRORS, MeshError, type MeshErrorCode } from './errors.ts';
import { renderProblem } from './problem.ts';

describe('MeshError', () => {
  it('carries a stable code and the status of its table entry, for every code', () => {
    const codes = Object.keys(MESH_ERRORS) as MeshErrorCode[];
    expect(codes.length).toBeGreaterThanOrEqual(19);
    for (const code of codes) {
      const err = new MeshError(code, 'x', { upstream: 'u' });
      expect(err.code).toBe(code);
      expect(err.status).toBe(MESH_ERRORS[code].status);
      expect(err.title).toBe(MESH_ERRORS[code].title);
      expect(isMeshError(err)).toBe(true);
      expect(isMeshError(err, code)).toBe(true);
      expect(code).toMatch(/^MESH_ERR_[A-Z_]+$/);
      const p = renderProblem(err, 'rid');
      expect(p.status).toBe(MESH_ERRORS[code].status);
      expect(p.body.code).toBe(code);
      expect(p.body.request_id).toBe('rid');
    }
  });

  it('lets a fault abort carry its own status and keeps the cause', () => {
    const cause = new Error('root');
    const err = new MeshError('MESH_ERR_FAULT_INJECTED', 'boom', { status: 418, cause, retryAfterSec: 2 });
    expect(err.status).toBe(418);
    expect(err.cause).toBe(cause);
    expect(renderProblem(err).headers['retry-after']).toBe('2');
    expect(isMeshError(new Error('plain'))).toBe(false);
    expect(isMeshError(err, 'MESH_ERR_TIMEOUT')).toBe(false);
  });
});
