/** The orders service's error codes, each with its HTTP status; rendered as RFC 9457 problem+json by the mesh server kit. */
import { createError, errorFamily, type FieldIssue } from '@breakwater/mesh/errors';

export const OrdersError = errorFamily('OrdersError', [
  createError('ORDERS_ERR_VALIDATION', 'The request is not valid', 400),
  createError('ORDERS_ERR_IDEMPOTENCY_KEY_REQUIRED', 'An Idempotency-Key header is required', 400),
  createError(
    'ORDERS_ERR_IDEMPOTENCY_MISMATCH',
    'This Idempotency-Key was already used with a different request',
    422,
  ),
  createError('ORDERS_ERR_NOT_FOUND', 'No such order', 404),
  createError('ORDERS_ERR_OUT_OF_STOCK', 'Not enough stock', 409),
  createError('ORDERS_ERR_UNKNOWN_PRODUCT', 'A product in the order does not exist', 422),
  createError('ORDERS_ERR_CATALOG_UNAVAILABLE', 'Stock cannot be reserved right now', 503),
  createError('ORDERS_ERR_UNAVAILABLE', 'Orders cannot be taken right now', 503),
]);
export type OrdersError = InstanceType<typeof OrdersError>;

/** The 400 for a request part that fails its schema (mesh `parseRequest`): the failing fields as `errors`. */
export const invalidRequest = (message: string, errors: FieldIssue[]) =>
  new OrdersError('ORDERS_ERR_VALIDATION', message, { extensions: { errors } });
