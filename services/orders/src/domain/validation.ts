/** zod failures as the orders service's 400 problem, naming the field. */
import type { z } from 'zod';
import { OrdersError } from '../errors.ts';

export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issues = r.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message }));
  const first = issues[0];
  throw new OrdersError(
    'ORDERS_ERR_VALIDATION',
    `${what}: ${first ? `${first.path || '(root)'}: ${first.message}` : 'invalid'}`,
    { extensions: { errors: issues } },
  );
}
