/** @breakwater/orders: build the service in-process (tests, tools); `main.ts` runs it. */
export * from './app.ts';
export * from './config.ts';
export * from './errors.ts';

import { CATALOG_POLICY } from './clients/catalog-client.ts';

/**
 * The mesh client policy of every upstream orders calls, by upstream name, as
 * data: read by the resilience lint (tools/render/src/lint) and compared with
 * mesh/policy.yaml's edgePolicies.orders by a test.
 */
export const UPSTREAM_POLICIES = Object.freeze({ catalog: CATALOG_POLICY });
