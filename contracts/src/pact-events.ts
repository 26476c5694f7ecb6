/**
 * Message pacts over the shop's events (test support): who produces each
 * event type, on which stream, who consumes it, and the CloudEvents envelope
 * (envelope.schema.json) as a Pact matcher, so every consumer test describes
 * the same envelope and only its `data` differs.
 */
import { MatchersV3, type MessageConsumerPact } from '@pact-foundation/pact';
import { EVENT_TYPES, SOURCES, STREAMS } from './shop-events.ts';

const { regex, uuid } = MatchersV3;

/**
 * Every event on the streams: its producer (the service whose outbox writes
 * it), its stream and source, and the services whose consumer groups handle
 * it. Each consumer has a message pact with the producer
 * (contracts/pacts/<consumer>-<producer>.json) covering these types.
 */
export const EVENT_FLOWS = {
  [EVENT_TYPES.orderPlaced]: { producer: 'orders', stream: STREAMS.orders, consumers: ['payments'] },
  [EVENT_TYPES.orderConfirmed]: { producer: 'orders', stream: STREAMS.orders, consumers: ['notifications'] },
  [EVENT_TYPES.orderCancelled]: { producer: 'orders', stream: STREAMS.orders, consumers: ['notifications'] },
  [EVENT_TYPES.paymentSucceeded]: { producer: 'payments', stream: STREAMS.payments, consumers: ['orders'] },
  [EVENT_TYPES.paymentDeclined]: { producer: 'payments', stream: STREAMS.payments, consumers: ['orders'] },
} as const satisfies Record<string, { producer: keyof typeof SOURCES; stream: string; consumers: string[] }>;

export type FlowingEventType = keyof typeof EVENT_FLOWS;

/** RFC 3339 with an offset, as the envelope's `time` (zod `iso.datetime({ offset: true })`). */
const RFC3339 = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$';

/**
 * The envelope of one event as a consumer expects it: the CloudEvents
 * attributes every consumer reads (exact where they are constants of the
 * contract: specversion, source, type, datacontenttype, dataversion) and
 * `data` as given (with the caller's matchers). Extension attributes a
 * producer adds (subject, traceparent) are allowed, as CloudEvents requires.
 */
function eventEnvelope(type: FlowingEventType, example: { id: string }, data: Record<string, unknown>) {
  const flow = EVENT_FLOWS[type];
  return {
    specversion: '1.0',
    id: uuid(example.id),
    source: SOURCES[flow.producer],
    type,
    time: regex(RFC3339, '2026-12-07T10:00:00.000Z'),
    datacontenttype: 'application/json',
    dataversion: '1',
    data,
  };
}

export interface ExpectedEvent {
  /** The provider state (the producer's test brings it about). */
  given: string;
  /** The message's description (the producer's test names its message provider by it). */
  description: string;
  type: FlowingEventType;
  /** The example envelope id (fixed, so the pact is the same on every run). */
  id: string;
  /** The `data` the consumer reads, with matchers. */
  data: Record<string, unknown>;
}

/**
 * Adds one message to a consumer's pact: the envelope of `type` with `data`
 * as its content and the stream `type` travels on as its metadata, so the
 * two cannot name different types.
 */
export function expectEvent(pact: MessageConsumerPact, e: ExpectedEvent): MessageConsumerPact {
  return pact
    .given(e.given)
    .expectsToReceive(e.description)
    .withContent(eventEnvelope(e.type, { id: e.id }, e.data))
    .withMetadata({ stream: EVENT_FLOWS[e.type].stream });
}

/**
 * A producer's event (e.g. its outbox row: stream and envelope) as the
 * message a provider-side Pact verification checks, the stream as metadata.
 * Throws, naming `what`, when the producer wrote none.
 */
export function pactMessage(row: { stream: string; event: unknown } | undefined, what: string) {
  if (!row) throw new Error(`the producer wrote no ${what}`);
  return { __pactMessageMetadata: { stream: row.stream }, message: row.event };
}
