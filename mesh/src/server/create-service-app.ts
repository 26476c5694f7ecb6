/**
 * The server kit every service starts from: an express app with health,
 * readiness, /metrics, request ids, a JSON access log with trace ids,
 * route-template metrics, problem+json errors, a body limit, inbound
 * deadlines, the fault filter with its loopback admin endpoint, and graceful
 * shutdown.
 *
 *   const kit = createServiceApp({ service: 'catalog', routes: (r) => { r.get('/products/:id', handler) } });
 *   kit.addReadinessCheck('postgres', () => pool.query('select 1'));
 *   kit.addCloser('postgres', () => pool.end());
 *   await kit.listen({ host, port });
 *
 * With a workload identity (BW_TLS_DIR, or `identity`) the listener is HTTPS
 * requiring a client certificate from the mesh's CA, and every request is
 * authorized against mesh/policy.yaml (../identity/).
 *
 * Middleware order, one file each: request id → authorization (mTLS only) → /health/*, /metrics
 * (lifecycle) → telemetry and access log → deadline (504 at once when
 * already expired) → fault filter → JSON body → the service's routes →
 * 404/405 → problem+json.
 */
import { collectProcessMetrics, counter, createLogger, setServiceLabel } from '@breakwater/observability';
import express from 'express';
import { authorizationFor, authorize } from '../identity/authorization.ts';
import { processIdentity } from '../identity/process-identity.ts';
import { parseSpiffeId } from '../identity/spiffe.ts';
import { loadPolicy } from '../policy/schema.ts';
import { deadline, skipIfAnswered } from './deadline.ts';
import { FaultFilter } from './fault-filter.ts';
import { Lifecycle } from './lifecycle.ts';
import { noRoute, problemHandler } from './problem-handler.ts';
import { requestId } from './request-id.ts';
import { healthFromEnv, parseServerSettings, type ServiceApp, type ServiceAppOptions } from './settings.ts';
import { telemetry } from './telemetry.ts';

/** Builds the express app and its lifecycle. Settings are validated (MESH_ERR_INVALID_POLICY) and frozen. */
export function createServiceApp(options: ServiceAppOptions): ServiceApp {
  const { routes, logger: givenLogger, exit, random, identity: givenIdentity, policy, ...rest } = options;
  const settings = parseServerSettings({ ...healthFromEnv(), ...rest });
  const logger = givenLogger ?? createLogger({ service: settings.service });
  const identity = givenIdentity === undefined ? processIdentity() : (givenIdentity ?? undefined);
  setServiceLabel(settings.service);
  collectProcessMetrics();
  counter('faultsInjected'); // registered up front so dashboards see it at 0
  const faults = new FaultFilter(random);
  const life = new Lifecycle(settings, logger);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestId(logger, () => !life.accepting));
  // The server's name in the policy is the ServiceAccount its certificate carries.
  const destination = identity
    ? (parseSpiffeId(identity.id)?.serviceAccount ?? settings.service)
    : settings.service;
  if (identity) app.use(authorize(authorizationFor(policy ?? loadPolicy(), destination), logger, identity));
  life.mountHealth(app);
  app.use(telemetry({ logger, accessLog: settings.accessLog, onInFlight: life.onInFlight }));
  app.use(deadline);
  app.use(faults.middleware);
  app.use(express.json({ limit: settings.bodyLimit, type: ['application/json', 'application/*+json'] }));
  app.use(skipIfAnswered);
  const router = express.Router();
  app.use(router);
  app.use(noRoute(app));
  app.use(problemHandler);

  const kit: ServiceApp = {
    app,
    router,
    logger,
    faults,
    settings,
    get accepting() {
      return life.accepting;
    },
    get server() {
      return life.server;
    },
    addReadinessCheck: (name, check) => life.addReadinessCheck(name, check),
    addCloser: (name, closer) => life.addCloser(name, closer),
    async listen(o = {}) {
      const out = await life.listen(app, faults, o, identity && { identity, destination });
      life.exitOnSignals(exit ?? process.exit);
      return out;
    },
    shutdown: (reason) => life.shutdown(reason),
  };
  routes?.(router, kit);
  return kit;
}

/** What every service's validated config carries (BackendConfig in env.ts, the frontend's config). */
export interface ServiceIdentity {
  readonly service: string;
  readonly adminPort?: number | undefined;
  readonly adminToken?: string | undefined;
}

/** Server-kit overrides a service's deps may carry (tests: `signals: []`, `drainDelayMs: 0`). */
export type ServerOverrides = Partial<
  Pick<ServiceAppOptions, 'signals' | 'drainDelayMs' | 'logger' | 'accessLog'>
>;

/**
 * createServiceApp for a service's config: its name, the admin listener when
 * both BW_ADMIN_PORT and BW_ADMIN_TOKEN are set, and, with `openapi`, the
 * service's contract served at /openapi.json.
 */
export function createServiceAppFor(
  config: ServiceIdentity,
  options: Omit<ServiceAppOptions, 'service' | 'admin'> & { openapi?: Record<string, unknown> },
): ServiceApp {
  const { openapi, ...rest } = options;
  const kit = createServiceApp({
    service: config.service,
    ...(config.adminPort !== undefined && config.adminToken !== undefined
      ? { admin: { port: config.adminPort, token: config.adminToken } }
      : {}),
    ...rest,
  });
  if (openapi !== undefined) {
    kit.router.get('/openapi.json', (_req, res) => {
      res.json(openapi);
    });
  }
  return kit;
}
