import { describe, expect, it } from 'vitest';
import { MeshError } from './errors.ts';
import { Problem, problem, renderProblem } from './problem.ts';

describe('renderProblem', () => {
  it('renders a Problem with its extensions, request id and Retry-After', () => {
    const p = renderProblem(
      new Problem({
        status: 429,
        code: 'GW_ERR_RATE_LIMITED',
        detail: 'slow down',
        retryAfterSec: 2.2,
        extensions: { limit: 5 },
      }),
      'rid-9',
      '/api/x',
    );
    expect(p.status).toBe(429);
    expect(p.headers).toEqual({ 'content-type': 'application/problem+json', 'retry-after': '3' });
    expect(p.body).toEqual({
      type: 'urn:breakwater:problem:GW_ERR_RATE_LIMITED',
      title: 'GW_ERR_RATE_LIMITED',
      status: 429,
      code: 'GW_ERR_RATE_LIMITED',
      detail: 'slow down',
      instance: '/api/x',
      request_id: 'rid-9',
      limit: 5,
    });
    expect(p.unexpected).toBe(false);
  });

  it('does not let extensions overwrite the standard members', () => {
    const p = renderProblem(problem(409, 'X_ERR', 'd', { status: 200, code: 'FAKE' }));
    expect(p.body.status).toBe(409);
    expect(p.body.code).toBe('X_ERR');
  });

  it('maps body-parser errors, coded errors and mesh errors; hides the rest', () => {
    const tooLarge = Object.assign(new Error('request entity too large'), {
      type: 'entity.too.large',
      status: 413,
    });
    expect(renderProblem(tooLarge).body.code).toBe('MESH_ERR_BODY_TOO_LARGE');
    const unsupported = Object.assign(new Error('unsupported charset'), {
      type: 'charset.unsupported',
      status: 415,
    });
    expect(renderProblem(unsupported)).toMatchObject({ status: 415, body: { code: 'MESH_ERR_VALIDATION' } });
    const coded = Object.assign(new Error('no stock'), { status: 409, code: 'CATALOG_ERR_OUT_OF_STOCK' });
    expect(renderProblem(coded)).toMatchObject({ status: 409, body: { code: 'CATALOG_ERR_OUT_OF_STOCK' } });
    const weird = Object.assign(new Error('boom'), { status: 200, code: 'NOT_AN_HTTP_ERROR' });
    expect(renderProblem(weird)).toMatchObject({
      status: 500,
      unexpected: true,
      body: { code: 'MESH_ERR_INTERNAL' },
    });
    const mesh = new MeshError('MESH_ERR_UPSTREAM_STATUS', 'catalog answered 503', {
      upstream: 'catalog',
      upstreamStatus: 503,
    });
    expect(renderProblem(mesh).body).toMatchObject({
      status: 502,
      upstream: 'catalog',
      upstream_status: 503,
    });
    expect(renderProblem('a string').body.detail).toBe('an unexpected error occurred');
  });

  it('refuses a Problem status outside 400–599', () => {
    expect(() => problem(200, 'X')).toThrow(RangeError);
  });
});
