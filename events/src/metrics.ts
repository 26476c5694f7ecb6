/**
 * What the event layer measures, as a small interface so the layer does not
 * depend on how metrics are registered. `catalogueEventMetrics` binds it to the
 * catalogue entries in `observability/src/metric-names.ts`.
 */
import { counter, gauge } from '@breakwater/observability/metrics';

export interface EventMetrics {
  outboxBacklog(rows: number): void;
  outboxPublished(stream: string, rows: number): void;
  streamLag(stream: string, group: string, entries: number): void;
  streamPending(stream: string, group: string, entries: number): void;
  processed(stream: string, group: string, type: string, outcome: EventOutcome): void;
  deadLetter(stream: string, group: string, reason: string): void;
  reclaimed(stream: string, group: string, entries: number): void;
}

/** ok, retry (left pending, tried again later), dead_letter, duplicate (already applied), ignored (type not handled here). */
export type EventOutcome = 'ok' | 'retry' | 'dead_letter' | 'duplicate' | 'ignored';

const noop = () => {};
export const noopEventMetrics: EventMetrics = {
  outboxBacklog: noop,
  outboxPublished: noop,
  streamLag: noop,
  streamPending: noop,
  processed: noop,
  deadLetter: noop,
  reclaimed: noop,
};

/** The event metrics as declared in the catalogue (observability/src/metric-names.ts). */
export function catalogueEventMetrics(): EventMetrics {
  const backlog = gauge('outboxBacklog');
  const published = counter('outboxPublished');
  const lag = gauge('streamLag');
  const pending = gauge('streamPending');
  const processed = counter('eventsProcessed');
  const dead = counter('deadLetters');
  const reclaimed = counter('eventsReclaimed');
  return {
    outboxBacklog: (n) => backlog.set(n),
    outboxPublished: (stream, n) => published.inc({ stream }, n),
    streamLag: (stream, group, n) => lag.set({ stream, group }, n),
    streamPending: (stream, group, n) => pending.set({ stream, group }, n),
    processed: (stream, group, type, outcome) => processed.inc({ stream, group, type, outcome }),
    deadLetter: (stream, group, reason) => dead.inc({ stream, group, reason }),
    reclaimed: (stream, group, n) => reclaimed.inc({ stream, group }, n),
  };
}
