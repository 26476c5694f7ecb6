/**
 * The local deployment's errors: one stable code per condition. The CLI prints
 * `message` as one line and exits non-zero; the control API answers with the
 * status as RFC 9457 problem+json carrying the code.
 */

export const LOCAL_ERRORS = {
  LOCAL_ERR_UNKNOWN_PROCESS: { status: 404, title: 'Unknown process name' },
  LOCAL_ERR_PORT_TAKEN: { status: 409, title: 'Port already taken' },
  LOCAL_ERR_MISSING_BINARY: { status: 500, title: 'Required binary not installed' },
  LOCAL_ERR_NOT_READY: { status: 504, title: 'Process did not become ready' },
  LOCAL_ERR_EXITED: { status: 502, title: 'Process exited before it was ready' },
  LOCAL_ERR_BAD_STATE: { status: 409, title: 'Process is not in a state that allows this' },
  LOCAL_ERR_ALREADY_RUNNING: { status: 409, title: 'A supervisor is already running' },
  LOCAL_ERR_NOT_RUNNING: { status: 503, title: 'No supervisor is running' },
  LOCAL_ERR_BAD_INPUT: { status: 400, title: 'Bad input' },
  LOCAL_ERR_UNAUTHORIZED: { status: 401, title: 'Control token missing or wrong' },
  LOCAL_ERR_NOT_FOUND: { status: 404, title: 'No such control route' },
  LOCAL_ERR_RUN_AS: { status: 500, title: 'Cannot choose a user to run PostgreSQL as' },
} as const;

export type LocalErrorCode = keyof typeof LOCAL_ERRORS;

export class LocalError extends Error {
  readonly code: LocalErrorCode;
  readonly status: number;

  constructor(code: LocalErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LocalError';
    this.code = code;
    this.status = LOCAL_ERRORS[code].status;
  }
}

export function isLocalError(err: unknown, code?: LocalErrorCode): err is LocalError {
  return err instanceof LocalError && (code === undefined || err.code === code);
}
