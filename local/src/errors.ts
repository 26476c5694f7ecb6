/**
 * The local deployment's errors: one stable code per condition. The CLI prints
 * `message` as one line and exits non-zero; the control API answers with the
 * status as RFC 9457 problem+json carrying the code (the mesh's one renderer).
 */
import { createError, errorFamily } from '@breakwater/mesh/errors';

export const LocalError = errorFamily('LocalError', [
  createError('LOCAL_ERR_UNKNOWN_PROCESS', 'Unknown process name', 404),
  createError('LOCAL_ERR_PORT_TAKEN', 'Port already taken', 409),
  createError('LOCAL_ERR_MISSING_BINARY', 'Required binary not installed', 500),
  createError('LOCAL_ERR_NOT_READY', 'Process did not become ready', 504),
  createError('LOCAL_ERR_EXITED', 'Process exited before it was ready', 502),
  createError('LOCAL_ERR_BAD_STATE', 'Process is not in a state that allows this', 409),
  createError('LOCAL_ERR_ALREADY_RUNNING', 'A supervisor is already running', 409),
  createError('LOCAL_ERR_NOT_RUNNING', 'No supervisor is running', 503),
  createError('LOCAL_ERR_BAD_INPUT', 'Bad input', 400),
  createError('LOCAL_ERR_UNAUTHORIZED', 'Control token missing or wrong', 401),
  createError('LOCAL_ERR_NOT_FOUND', 'No such control route', 404),
  createError('LOCAL_ERR_RUN_AS', 'Cannot choose a user to run PostgreSQL as', 500),
]);
export type LocalError = InstanceType<typeof LocalError>;
export type LocalErrorCode = LocalError['code'];
export const isLocalError = (err: unknown, code?: LocalErrorCode): err is LocalError =>
  LocalError.is(err, code);
