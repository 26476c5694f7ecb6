/**
 * A variant of gateway/gateway.yaml, for a test or a drill run that switches
 * one mechanism off (the gateways take it through `--gateway-config` or
 * BW_GATEWAY_CONFIG). `edit` changes the parsed document in place; the JWKS
 * paths, which gateway.yaml gives relative to its own folder, are made
 * absolute so that the copy works from any folder.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Document, parseDocument } from 'yaml';

const GATEWAY_DIR = path.resolve(import.meta.dirname, '..', '..', 'gateway');

/** Writes `<dir>/<name>.yaml` and returns its path. */
export function writeGatewayVariant(dir: string, name: string, edit: (doc: Document) => void): string {
  const doc = parseDocument(readFileSync(path.join(GATEWAY_DIR, 'gateway.yaml'), 'utf8'));
  edit(doc);
  const consumers = (doc.toJS() as { consumers?: { jwt?: { jwks?: string }[] }[] }).consumers ?? [];
  consumers.forEach((c, i) => {
    c.jwt?.forEach((j, k) => {
      if (j.jwks !== undefined)
        doc.setIn(['consumers', i, 'jwt', k, 'jwks'], path.resolve(GATEWAY_DIR, j.jwks));
    });
  });
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, doc.toString());
  return file;
}

/** Removes every route's stale-if-error (the gateway then keeps no last good answers). */
export function withoutStaleIfError(doc: Document): void {
  const routes = (doc.toJS() as { routes?: { staleIfError?: unknown }[] }).routes ?? [];
  routes.forEach((r, i) => {
    if (r.staleIfError !== undefined) doc.deleteIn(['routes', i, 'staleIfError']);
  });
}
