/**
 * The server kit (`@breakwater/mesh/server`), one file per middleware:
 * request-id, telemetry, deadline, fault-filter (+ admin), problem-handler
 * (404/405 and problem+json), lifecycle (health, readiness, listen,
 * shutdown), and the createServiceApp factory that puts them in order
 * (createServiceAppFor: the same from a service's config). runService, the
 * start-up of a main.ts, is its own entry (`@breakwater/mesh/run-service`)
 * so that the kit does not load the telemetry SDK.
 */
export { createAdminApp } from './admin.ts';
export {
  createServiceApp,
  createServiceAppFor,
  type ServerOverrides,
  type ServiceIdentity,
} from './create-service-app.ts';
export * from './fault-filter.ts';
export { RequestContext } from './request-context.ts';
export {
  type Closer,
  healthFromEnv,
  type ListenOptions,
  type ReadinessCheck,
  type ServerSettings,
  ServerSettingsSchema,
  type ServiceApp,
  type ServiceAppOptions,
} from './settings.ts';
