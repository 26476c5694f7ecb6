import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CodedError,
  createError,
  errorFamily,
  isMeshError,
  MESH_ERRORS,
  MeshError,
  type MeshErrorCode,
  parseRequest,
} from './errors.ts';
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

describe('createError and errorFamily', () => {
  const ShopError = errorFamily('ShopError', [
    createError('SHOP_ERR_OUT_OF_STOCK', 'Not enough stock', 409),
    createError('SHOP_ERR_BUSY', 'Try again later', 503),
  ]);

  it('makes one Error subclass with code, status, title, cause and its problem+json', () => {
    const cause = new Error('db');
    const err = new ShopError('SHOP_ERR_BUSY', 'the shelf is being counted', {
      cause,
      retryAfterSec: 2,
      headers: { 'x-shelf': '7' },
    });
    expect(err).toBeInstanceOf(Error);
    expect(err).toBeInstanceOf(CodedError);
    expect(err.name).toBe('ShopError');
    expect(err.code).toBe('SHOP_ERR_BUSY');
    expect(err.status).toBe(503);
    expect(err.cause).toBe(cause);
    expect(ShopError.is(err, 'SHOP_ERR_BUSY')).toBe(true);
    expect(ShopError.is(err, 'SHOP_ERR_OUT_OF_STOCK')).toBe(false);
    expect(ShopError.is(new MeshError('MESH_ERR_TIMEOUT', 'x'))).toBe(false);
    const p = err.toProblem('rid', '/shelf');
    expect(p.headers).toEqual({
      'x-shelf': '7',
      'content-type': 'application/problem+json',
      'retry-after': '2',
    });
    expect(p.body).toEqual({
      type: 'urn:breakwater:problem:SHOP_ERR_BUSY',
      title: 'Try again later',
      status: 503,
      code: 'SHOP_ERR_BUSY',
      detail: 'the shelf is being counted',
      instance: '/shelf',
      request_id: 'rid',
    });
    // The same rendering whichever way it is reached.
    expect(renderProblem(err, 'rid', '/shelf')).toEqual(p);
  });

  it('uses the title as message and detail when none is given', () => {
    const err = new ShopError('SHOP_ERR_OUT_OF_STOCK');
    expect(err.message).toBe('Not enough stock');
    expect(err.toProblem().body.detail).toBe('Not enough stock');
  });

  it('refuses a status outside 400–599 and an unknown code', () => {
    expect(() => createError('X_ERR_OK', 'fine', 200)).toThrow(RangeError);
    expect(() => new ShopError('SHOP_ERR_NOPE' as 'SHOP_ERR_BUSY')).toThrow(RangeError);
  });
});

describe('parseRequest', () => {
  const Body = z.object({ items: z.array(z.object({ quantity: z.number().int().min(1) })) });
  const invalid = (message: string, errors: { path: string; message: string }[]) =>
    Object.assign(new Error(message), { errors });

  it('returns the parsed value', () => {
    expect(parseRequest(Body, { items: [{ quantity: 2 }] }, 'body', invalid)).toEqual({
      items: [{ quantity: 2 }],
    });
  });

  it("throws the caller's error naming the first failing field, with at most 10 fields", () => {
    const items = Array.from({ length: 12 }, () => ({ quantity: 0 }));
    let thrown: (Error & { errors?: { path: string }[] }) | undefined;
    try {
      parseRequest(Body, { items }, 'body', invalid);
    } catch (err) {
      thrown = err as Error & { errors?: { path: string }[] };
    }
    expect(thrown?.message).toMatch(/^body: items\.0\.quantity: /);
    expect(thrown?.errors).toHaveLength(10);
    expect(() => parseRequest(Body, 'x', 'body', invalid)).toThrow(/^body: \(root\): /);
  });
});
