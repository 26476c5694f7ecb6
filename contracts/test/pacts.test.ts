/**
 * The committed message pacts against the event catalogue: every event type
 * on the streams has a producer and consumers (EVENT_FLOWS), every consumer
 * has a message pact with its producer covering that type on that stream,
 * and every message in a pact is a valid envelope (envelope.schema.json,
 * with the `data` schema of its type and dataversion) — so a consumer's
 * pact cannot drift from the contract the producers publish against.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import envelopeSchema from '../envelope.schema.json' with { type: 'json' };
import { EVENT_TYPES } from '../src/index.ts';
import { EVENT_FLOWS } from '../src/pact-events.ts';
import { PACT_DIR, pactFile } from '../src/pact-files.ts';

interface Message {
  description: string;
  contents: { type?: string; dataversion?: string; data?: unknown };
  metadata?: { stream?: string };
}
const messagesOf = (file: string): Message[] =>
  (JSON.parse(readFileSync(file, 'utf8')) as { messages?: Message[] }).messages ?? [];

describe('message pacts', () => {
  it('every event type has a producer, a stream and at least one consumer', () => {
    expect(Object.keys(EVENT_FLOWS).sort()).toEqual(Object.values(EVENT_TYPES).sort());
    for (const flow of Object.values(EVENT_FLOWS)) expect(flow.consumers.length).toBeGreaterThan(0);
  });

  it('every consumer has a message pact with the producer for each type it consumes, on its stream', () => {
    for (const [type, flow] of Object.entries(EVENT_FLOWS)) {
      for (const consumer of flow.consumers) {
        const messages = messagesOf(pactFile(consumer, flow.producer)).filter(
          (m) => m.contents.type === type,
        );
        expect(messages.length, `${consumer} ← ${flow.producer}: ${type}`).toBeGreaterThan(0);
        for (const m of messages) expect(m.metadata?.stream, m.description).toBe(flow.stream);
      }
    }
  });

  it('every message in contracts/pacts is a valid envelope with valid data (ajv, draft 2020-12)', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const envelope = ajv.compile(envelopeSchema);
    const defs = envelopeSchema.$defs as Record<string, object>;
    const files = readdirSync(PACT_DIR).filter((f) => f.endsWith('.json'));
    const messages = files.flatMap((f) => messagesOf(join(PACT_DIR, f)));
    expect(messages.length).toBe(5);
    for (const m of messages) {
      expect(envelope(m.contents), `${m.description}: ${ajv.errorsText(envelope.errors)}`).toBe(true);
      const data = ajv.compile({
        ...defs[`${m.contents.type}@${m.contents.dataversion}`],
        $schema: undefined,
      });
      expect(data(m.contents.data), `${m.description}: ${ajv.errorsText(data.errors)}`).toBe(true);
    }
  });
});
