/**
 * The orders service's error codes, each with its HTTP status; answered as
 * RFC 9457 problem+json by the mesh server kit.
 */
import { Problem } from '@breakwater/mesh/problem';

export const ORDERS_ERRORS = {
  ORDERS_ERR_VALIDATION: { status: 400, title: 'The request is not valid' },
  ORDERS_ERR_IDEMPOTENCY_KEY_REQUIRED: { status: 400, title: 'An Idempotency-Key header is required' },
  ORDERS_ERR_IDEMPOTENCY_MISMATCH: {
    status: 422,
    title: 'This Idempotency-Key was already used with a different request',
  },
  ORDERS_ERR_NOT_FOUND: { status: 404, title: 'No such order' },
  ORDERS_ERR_OUT_OF_STOCK: { status: 409, title: 'Not enough stock' },
  ORDERS_ERR_UNKNOWN_PRODUCT: { status: 422, title: 'A product in the order does not exist' },
  ORDERS_ERR_CATALOG_UNAVAILABLE: { status: 503, title: 'Stock cannot be reserved right now' },
  ORDERS_ERR_UNAVAILABLE: { status: 503, title: 'Orders cannot be taken right now' },
} as const;

export type OrdersErrorCode = keyof typeof ORDERS_ERRORS;

export class OrdersError extends Problem {
  declare readonly code: OrdersErrorCode;

  constructor(
    code: OrdersErrorCode,
    detail?: string,
    options: { cause?: unknown; retryAfterSec?: number; extensions?: Record<string, unknown> } = {},
  ) {
    super({
      status: ORDERS_ERRORS[code].status,
      code,
      title: ORDERS_ERRORS[code].title,
      detail: detail ?? ORDERS_ERRORS[code].title,
      ...options,
    });
    this.name = 'OrdersError';
  }
}

export const isOrdersError = (e: unknown): e is OrdersError => e instanceof OrdersError;
