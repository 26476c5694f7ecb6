/**
 * The catalog's error codes, each with its HTTP status; answered as RFC 9457
 * problem+json (`type` is `urn:breakwater:error:<code>`).
 */
import { Problem } from '@breakwater/mesh/problem';

export const CATALOG_ERRORS = {
  CATALOG_ERR_VALIDATION: { status: 400, title: 'The request is not valid' },
  CATALOG_ERR_NOT_FOUND: { status: 404, title: 'No such resource' },
  CATALOG_ERR_OUT_OF_STOCK: { status: 409, title: 'Not enough stock' },
  CATALOG_ERR_RESERVATION_CONFLICT: {
    status: 409,
    title: 'This reservation id was already used for other items',
  },
  CATALOG_ERR_RESERVATION_RELEASED: { status: 409, title: 'This reservation was already released' },
  CATALOG_ERR_UNKNOWN_PRODUCT: { status: 422, title: 'A product in the request does not exist' },
  CATALOG_ERR_UNAVAILABLE: { status: 503, title: 'The catalog cannot answer right now' },
} as const;

export type CatalogErrorCode = keyof typeof CATALOG_ERRORS;

/** A catalog problem: the mesh server kit renders it (status, code, Retry-After, extensions). */
export class CatalogError extends Problem {
  declare readonly code: CatalogErrorCode;

  constructor(
    code: CatalogErrorCode,
    detail?: string,
    options: { cause?: unknown; retryAfterSec?: number; extensions?: Record<string, unknown> } = {},
  ) {
    super({
      status: CATALOG_ERRORS[code].status,
      code,
      title: CATALOG_ERRORS[code].title,
      detail: detail ?? CATALOG_ERRORS[code].title,
      ...options,
    });
    this.name = 'CatalogError';
  }
}

export const isCatalogError = (e: unknown): e is CatalogError => e instanceof CatalogError;
