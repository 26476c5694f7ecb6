/** The payments service's error codes, each with its HTTP status (problem+json via the mesh server kit). */
import { Problem } from '@breakwater/mesh/problem';

export const PAYMENTS_ERRORS = {
  PAYMENTS_ERR_VALIDATION: { status: 400, title: 'The request is not valid' },
  PAYMENTS_ERR_NOT_FOUND: { status: 404, title: 'No payment for this order' },
  PAYMENTS_ERR_UNAVAILABLE: { status: 503, title: 'Payments cannot be read right now' },
} as const;

export type PaymentsErrorCode = keyof typeof PAYMENTS_ERRORS;

export class PaymentsError extends Problem {
  declare readonly code: PaymentsErrorCode;

  constructor(
    code: PaymentsErrorCode,
    detail?: string,
    options: { cause?: unknown; retryAfterSec?: number } = {},
  ) {
    super({
      status: PAYMENTS_ERRORS[code].status,
      code,
      title: PAYMENTS_ERRORS[code].title,
      detail: detail ?? PAYMENTS_ERRORS[code].title,
      ...options,
    });
    this.name = 'PaymentsError';
  }
}

/** The simulated processor failed transiently (the charge is retried later). */
export class ProcessorUnavailableError extends Error {
  readonly code = 'PAYMENTS_ERR_PROCESSOR_UNAVAILABLE';
  constructor(message = 'payment processor unavailable (simulated)') {
    super(message);
    this.name = 'ProcessorUnavailableError';
  }
}
