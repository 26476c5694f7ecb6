/**
 * Checks every script shares: what the public contract promises on any answer.
 * They feed k6's `checks` rate (tagged like the request), so a script can hold
 * `checks{route:orders_create}: ['rate>0.99']` as a threshold.
 */

import { check } from 'k6';
import type { RefinedResponse, ResponseType } from 'k6/http';
import { header } from './outcome.ts';

type Res = RefinedResponse<ResponseType | undefined>;

/** Every answer carries a request id; errors are problem+json with a title; 429/503 say when to retry. */
export function checkContract(res: Res, tags: Record<string, string>): boolean {
  const isError = res.status >= 400;
  return check(
    res,
    {
      'has a request id': (r) => r.status === 0 || header(r, 'X-Request-Id') !== undefined,
      'errors are problem+json with a title': (r) => !isError || isProblem(r),
      '429 and 503 carry Retry-After': (r) =>
        (r.status !== 429 && r.status !== 503) || header(r, 'Retry-After') !== undefined,
    },
    tags,
  );
}

function isProblem(res: Res): boolean {
  if (!/application\/problem\+json/i.test(header(res, 'Content-Type') ?? '')) return false;
  try {
    const body = JSON.parse(String(res.body)) as { title?: unknown };
    return typeof body.title === 'string' && body.title.length > 0;
  } catch {
    return false;
  }
}
