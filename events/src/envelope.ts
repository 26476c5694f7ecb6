/**
 * The one event envelope Breakwater puts on its streams: CloudEvents 1.0
 * attributes (JSON format) plus two extensions —
 *
 * - `dataversion`: the version of the `data` schema for this `type`
 *   (a string of digits). A consumer refuses a version it does not know.
 * - `traceparent` / `tracestate`: the CloudEvents Distributed Tracing
 *   extension, W3C trace context of the work that produced the event.
 *
 * The zod schema below is the single description; `envelope.schema.json`
 * is generated from it (`npm run render`, tools/render/src/contracts.ts) and a test
 * fails when the two drift apart.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';

export const SPEC_VERSION = '1.0';

// CloudEvents: extension attribute names are lower-case letters and digits.
// Loose: unknown extension attributes are kept, as CloudEvents requires.
export const EnvelopeSchema = z
  .looseObject({
    specversion: z.literal(SPEC_VERSION),
    id: z.string().min(1).max(200),
    source: z.string().min(1).max(500),
    type: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[a-z0-9]+(\.[a-z0-9_-]+)+$/),
    time: z.iso.datetime({ offset: true }),
    datacontenttype: z.literal('application/json'),
    dataversion: z.string().regex(/^[0-9]{1,4}$/),
    subject: z.string().min(1).max(200).optional(),
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/)
      .optional(),
    tracestate: z.string().max(512).optional(),
    data: z.record(z.string(), z.unknown()),
  })
  .meta({
    $id: 'https://breakwater.dev/schemas/event-envelope.v1.json',
    title: 'Breakwater event envelope (CloudEvents 1.0, JSON format)',
  });

export interface EventEnvelope<T = Record<string, unknown>> {
  specversion: typeof SPEC_VERSION;
  id: string;
  source: string;
  type: string;
  time: string;
  datacontenttype: 'application/json';
  dataversion: string;
  subject?: string;
  traceparent?: string;
  tracestate?: string;
  data: T;
}

/**
 * A name-based UUID (RFC 9562 version 5: SHA-1 over a namespace and a name):
 * the same name always gives the same id, so deriving an event id or an
 * entity id from what caused it makes a replay produce the same id.
 */
export function uuidFromName(name: string, namespace = BREAKWATER_NAMESPACE): string {
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const h = createHash('sha1').update(ns).update(name, 'utf8').digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** Namespace of Breakwater's name-based ids (a fixed random UUID). */
export const BREAKWATER_NAMESPACE = '6f1c1d52-8a0e-4c57-9d0b-5b7c2a7e4f31';

export interface NewEvent<T> {
  type: string;
  /** `/breakwater/<service>` by convention. */
  source: string;
  dataversion?: string;
  subject?: string;
  data: T;
  /** Default: a random UUID. Pass a deterministic id to make re-publishing idempotent. */
  id?: string;
  /** Default: now. */
  time?: Date;
  traceparent?: string;
  tracestate?: string;
}

export function createEvent<T extends Record<string, unknown>>(e: NewEvent<T>): EventEnvelope<T> {
  const env: EventEnvelope<T> = {
    specversion: SPEC_VERSION,
    id: e.id ?? randomUUID(),
    source: e.source,
    type: e.type,
    time: (e.time ?? new Date()).toISOString(),
    datacontenttype: 'application/json',
    dataversion: e.dataversion ?? '1',
    data: e.data,
  };
  if (e.subject !== undefined) env.subject = e.subject;
  if (e.traceparent !== undefined) env.traceparent = e.traceparent;
  if (e.tracestate !== undefined) env.tracestate = e.tracestate;
  return env;
}

export type ParseResult =
  | { ok: true; event: EventEnvelope }
  | { ok: false; reason: 'unparseable' | 'invalid_envelope'; detail: string };

/** Parses the JSON text of one envelope; never throws. */
export function parseEnvelope(text: string | undefined | null): ParseResult {
  if (typeof text !== 'string') return { ok: false, reason: 'unparseable', detail: 'no event field' };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'unparseable', detail: (err as Error).message };
  }
  const r = EnvelopeSchema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    return {
      ok: false,
      reason: 'invalid_envelope',
      detail: issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid',
    };
  }
  return { ok: true, event: r.data as EventEnvelope };
}

/**
 * The JSON schema of the envelope (draft 2020-12), generated from the zod
 * schema, with the `data` schema of every known type and version under
 * `$defs` keyed `<type>@<dataversion>`.
 */
export function envelopeJsonSchema(
  dataSchemas: Readonly<Record<string, Readonly<Record<string, z.ZodType>>>> = {},
): Record<string, unknown> {
  const doc = z.toJSONSchema(EnvelopeSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
  const defs: Record<string, unknown> = {};
  for (const [type, versions] of Object.entries(dataSchemas)) {
    for (const [version, schema] of Object.entries(versions)) {
      const { $schema: _drop, ...def } = z.toJSONSchema(schema, { target: 'draft-2020-12' }) as Record<
        string,
        unknown
      >;
      defs[`${type}@${version}`] = def;
    }
  }
  if (Object.keys(defs).length > 0) doc.$defs = defs;
  return doc;
}
