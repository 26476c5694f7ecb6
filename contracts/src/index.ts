/**
 * @breakwater/contracts — what the services agree on: the shop's streams,
 * event types and the schema of each type's `data` (shop-events.ts). The
 * CloudEvents envelope schema (envelope.schema.json, rendered by
 * `npm run render`) and each service's OpenAPI document (openapi/<service>.json)
 * are exported as JSON entry points of this package.
 */
export * from './shop-events.ts';
