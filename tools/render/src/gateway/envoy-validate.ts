/**
 * Validates an Envoy bootstrap (as parsed YAML/JSON) against Envoy's own API
 * definitions: the .proto files @grpc/grpc-js-xds ships (deps/envoy-api and
 * its dependencies), loaded with protobufjs.
 *
 * The walk follows proto3 JSON mapping rules: every key must be a field of
 * its message (proto or JSON name), scalars must have the right JSON type,
 * enums must name a value, a oneof may be set once, well-known types take
 * their JSON forms (Duration "1.5s", wrappers as plain values, Struct as
 * any object), and every `google.protobuf.Any` is resolved through its
 * `@type` and walked as that message — so typed extension configs are
 * checked too, and an unknown @type is an error. protoc-gen-validate rules
 * (required fields, ranges) are not evaluated: that is Envoy's own start-up
 * check, which needs an Envoy binary.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';

const require = createRequire(import.meta.url);
const XDS_DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const INCLUDE = ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate', 'cel-spec'].map((d) =>
  join(XDS_DEPS, d),
);
const PROTOBUF_INCLUDE = join(dirname(require.resolve('protobufjs/package.json')));

/** The Bootstrap and every extension our renderer emits as a typed config. */
const ROOTS = [
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
];

let cached: protobuf.Root | undefined;

export function loadEnvoyProtos(): protobuf.Root {
  if (cached) return cached;
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target.startsWith('/')) return target;
    for (const dir of [...INCLUDE, PROTOBUF_INCLUDE]) {
      const p = join(dir, target);
      try {
        require('node:fs').accessSync(p);
        return p;
      } catch {}
    }
    return target;
  };
  root.loadSync(ROOTS, { keepCase: true, alternateCommentMode: false });
  root.resolveAll();
  cached = root;
  return root;
}

const INT_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const FLOAT_TYPES = new Set(['double', 'float']);
const WRAPPERS: Record<string, string> = {
  '.google.protobuf.DoubleValue': 'double',
  '.google.protobuf.FloatValue': 'float',
  '.google.protobuf.Int64Value': 'int64',
  '.google.protobuf.UInt64Value': 'uint64',
  '.google.protobuf.Int32Value': 'int32',
  '.google.protobuf.UInt32Value': 'uint32',
  '.google.protobuf.BoolValue': 'bool',
  '.google.protobuf.StringValue': 'string',
  '.google.protobuf.BytesValue': 'bytes',
};

function checkScalar(type: string, v: unknown, at: string, errors: string[]): void {
  if (INT_TYPES.has(type) || LONG_TYPES.has(type)) {
    const n = typeof v === 'string' && LONG_TYPES.has(type) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) errors.push(`${at}: expected an integer (${type})`);
    else if (type.startsWith('u') && n < 0) errors.push(`${at}: expected a non-negative integer (${type})`);
  } else if (FLOAT_TYPES.has(type)) {
    if (typeof v !== 'number') errors.push(`${at}: expected a number (${type})`);
  } else if (type === 'bool') {
    if (typeof v !== 'boolean') errors.push(`${at}: expected a boolean`);
  } else if (type === 'string' || type === 'bytes') {
    if (typeof v !== 'string') errors.push(`${at}: expected a string`);
  } else errors.push(`${at}: unknown scalar type ${type}`);
}

function fullName(t: protobuf.ReflectionObject): string {
  return t.fullName;
}

function walkMessage(
  root: protobuf.Root,
  type: protobuf.Type,
  value: unknown,
  at: string,
  errors: string[],
): void {
  const name = fullName(type);
  // Well-known types with special JSON forms.
  if (name in WRAPPERS) {
    checkScalar(WRAPPERS[name] as string, value, at, errors);
    return;
  }
  if (name === '.google.protobuf.Duration') {
    if (typeof value !== 'string' || !/^-?\d+(\.\d{1,9})?s$/.test(value))
      errors.push(`${at}: expected a duration like "1.5s"`);
    return;
  }
  if (
    name === '.google.protobuf.Struct' ||
    name === '.google.protobuf.Value' ||
    name === '.google.protobuf.ListValue'
  )
    return;
  if (name === '.google.protobuf.Empty') {
    if (typeof value !== 'object' || value === null || Object.keys(value).length > 0)
      errors.push(`${at}: expected {}`);
    return;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    errors.push(`${at}: expected an object (${name.slice(1)})`);
    return;
  }
  if (name === '.google.protobuf.Any') {
    const { '@type': url, ...rest } = value as Record<string, unknown>;
    if (typeof url !== 'string') {
      errors.push(`${at}: Any without @type`);
      return;
    }
    const target = url.slice(url.lastIndexOf('/') + 1);
    let t: protobuf.Type;
    try {
      t = root.lookupType(target);
    } catch {
      errors.push(`${at}.@type: unknown type ${target}`);
      return;
    }
    walkMessage(root, t, rest, `${at}<${target}>`, errors);
    return;
  }
  const seenOneofs = new Map<string, string>();
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const field = type.fields[key] ?? Object.values(type.fields).find((f) => camel(f.name) === key);
    const here = `${at}.${key}`;
    if (!field) {
      errors.push(`${here}: unknown field of ${name.slice(1)}`);
      continue;
    }
    if (field.options?.deprecated === true) errors.push(`${here}: deprecated field of ${name.slice(1)}`);
    if (field.partOf) {
      const other = seenOneofs.get(field.partOf.name);
      if (other) errors.push(`${here}: oneof ${field.partOf.name} already set by ${other}`);
      seenOneofs.set(field.partOf.name, key);
    }
    field.resolve();
    if (field.map) {
      if (typeof v !== 'object' || v === null) {
        errors.push(`${here}: expected a map`);
        continue;
      }
      for (const [k, mv] of Object.entries(v)) walkValue(root, field, mv, `${here}[${k}]`, errors);
      continue;
    }
    if (field.repeated) {
      if (!Array.isArray(v)) {
        errors.push(`${here}: expected a list`);
        continue;
      }
      v.forEach((item, i) => {
        walkValue(root, field, item, `${here}[${i}]`, errors);
      });
      continue;
    }
    walkValue(root, field, v, here, errors);
  }
}

function walkValue(
  root: protobuf.Root,
  field: protobuf.Field,
  v: unknown,
  at: string,
  errors: string[],
): void {
  const rt = field.resolvedType;
  if (rt instanceof protobuf.Type) {
    walkMessage(root, rt, v, at, errors);
    return;
  }
  if (rt instanceof protobuf.Enum) {
    if (typeof v === 'string') {
      if (!(v in rt.values)) errors.push(`${at}: ${v} is not a value of enum ${rt.fullName.slice(1)}`);
    } else if (typeof v !== 'number' || !Object.values(rt.values).includes(v)) {
      errors.push(`${at}: not a value of enum ${rt.fullName.slice(1)}`);
    }
    return;
  }
  checkScalar(field.type, v, at, errors);
}

const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

/** Every problem found in `doc` as an Envoy v3 Bootstrap; empty when valid. */
export function validateEnvoyBootstrap(doc: unknown): string[] {
  const root = loadEnvoyProtos();
  const errors: string[] = [];
  walkMessage(root, root.lookupType('envoy.config.bootstrap.v3.Bootstrap'), doc, 'bootstrap', errors);
  return errors;
}
