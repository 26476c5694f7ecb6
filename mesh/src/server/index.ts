/**
 * The server kit (`@breakwater/mesh/server`), one file per middleware:
 * request-id, telemetry, deadline, fault-filter (+ admin), problem-handler
 * (404/405 and problem+json), lifecycle (health, readiness, listen,
 * shutdown), and the createServiceApp factory that puts them in order.
 */
export { createAdminApp } from './admin.ts';
export { createServiceApp } from './create-service-app.ts';
export * from './fault-filter.ts';
export { RequestContext } from './request-context.ts';
export {
  type Closer,
  type ListenOptions,
  type ReadinessCheck,
  type ServerSettings,
  ServerSettingsSchema,
  type ServiceApp,
  type ServiceAppOptions,
} from './settings.ts';
