export * from './binaries.ts';
export { ControlApi, type ControlApiOptions, type RouteContext, type RouteHandler } from './control-api.ts';
export { controlCall, liveRun, liveState, remoteStatus } from './control-client.ts';
export * from './errors.ts';
export * from './harness.ts';
export {
  type Disposable,
  ManagedProcess,
  type ProcessKind,
  type ProcessSpec,
  type ProcessState,
  type ProcessStatus,
} from './managed-process.ts';
export { buildPlatform, GATEWAY_NOTES, PLATFORM, type Platform, type PlatformEntry } from './platform.ts';
export { type RunState, readState, stateFile } from './state.ts';
export { formatStatusTable } from './status-table.ts';
export { PROCESS_ACTIONS, type ProcessAction, Supervisor } from './supervisor.ts';
export { type UpContext, type UpOptions, type UpPlugin, up } from './up.ts';
