export * from './errors.ts';
export * from './harness.ts';
export {
  ManagedProcess,
  type ProcessSpec,
  type ProcessState,
  type ProcessStatus,
} from './managed-process.ts';
