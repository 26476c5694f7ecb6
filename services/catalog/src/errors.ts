/** The catalog's error codes, each with its HTTP status; rendered as RFC 9457 problem+json by the mesh server kit. */
import { createError, errorFamily, type FieldIssue } from '@breakwater/mesh/errors';

export const CatalogError = errorFamily('CatalogError', [
  createError('CATALOG_ERR_VALIDATION', 'The request is not valid', 400),
  createError('CATALOG_ERR_NOT_FOUND', 'No such resource', 404),
  createError('CATALOG_ERR_OUT_OF_STOCK', 'Not enough stock', 409),
  createError(
    'CATALOG_ERR_RESERVATION_CONFLICT',
    'This reservation id was already used for other items',
    409,
  ),
  createError('CATALOG_ERR_RESERVATION_RELEASED', 'This reservation was already released', 409),
  createError('CATALOG_ERR_UNKNOWN_PRODUCT', 'A product in the request does not exist', 422),
  createError('CATALOG_ERR_UNAVAILABLE', 'The catalog cannot answer right now', 503),
]);
export type CatalogError = InstanceType<typeof CatalogError>;

/** The 400 for a request part that fails its schema (mesh `parseRequest`): the failing fields as `errors`. */
export const invalidRequest = (message: string, errors: FieldIssue[]) =>
  new CatalogError('CATALOG_ERR_VALIDATION', message, { extensions: { errors } });
