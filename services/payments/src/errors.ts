/** The payments service's error codes, each with its HTTP status (problem+json via the mesh server kit). */
import { createError, errorFamily } from '@breakwater/mesh/errors';

export const PaymentsError = errorFamily('PaymentsError', [
  createError('PAYMENTS_ERR_VALIDATION', 'The request is not valid', 400),
  createError('PAYMENTS_ERR_NOT_FOUND', 'No payment for this order', 404),
  createError('PAYMENTS_ERR_UNAVAILABLE', 'Payments cannot be read right now', 503),
]);
export type PaymentsError = InstanceType<typeof PaymentsError>;

/** The simulated processor failed transiently (the charge is retried later); never answered over HTTP. */
export class ProcessorUnavailableError extends Error {
  readonly code = 'PAYMENTS_ERR_PROCESSOR_UNAVAILABLE';
  constructor(message = 'payment processor unavailable (simulated)') {
    super(message);
    this.name = 'ProcessorUnavailableError';
  }
}
