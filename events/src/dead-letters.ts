/**
 * Dead-letter streams for people: list what is in one, and replay entries
 * (after fixing the cause) by putting their original event back on its
 * stream — each move is one MULTI (XADD to the stream + XDEL from the dead
 * letters), so an entry is never both replayed and kept, nor lost.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 npm run events -- list   bw:orders:dlq:notifications
 *   REDIS_URL=redis://127.0.0.1:6379 npm run events -- replay bw:orders:dlq:notifications [count]
 *
 * Replayed events keep their id, so consumers that already applied them
 * report a duplicate. Note that a replay reaches every group of the stream.
 */
import type { Redis } from 'ioredis';

export interface DeadLetter {
  /** Entry id in the dead-letter stream. */
  id: string;
  reason: string;
  detail: string;
  stream: string;
  group: string;
  entryId: string;
  deliveries: number;
  /** The event as it was read (raw text; may be unparseable). */
  event: string;
}

function toDeadLetter(id: string, fields: string[]): DeadLetter {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
  return {
    id,
    reason: f.get('reason') ?? '',
    detail: f.get('detail') ?? '',
    stream: f.get('stream') ?? '',
    group: f.get('group') ?? '',
    entryId: f.get('entry_id') ?? '',
    deliveries: Number(f.get('deliveries') ?? 0),
    event: f.get('event') ?? '',
  };
}

/** The oldest `count` entries of a dead-letter stream. */
export async function listDeadLetters(redis: Redis, dlq: string, count = 100): Promise<DeadLetter[]> {
  const entries = (await redis.xrange(dlq, '-', '+', 'COUNT', count)) as [string, string[]][];
  return entries.map(([id, fields]) => toDeadLetter(id, fields));
}

/**
 * Moves up to `count` dead letters back onto their original streams
 * (oldest first). Entries without an event or an original stream stay.
 * Returns the ids of the dead letters replayed.
 */
export async function replayDeadLetters(redis: Redis, dlq: string, count = 100): Promise<string[]> {
  const replayed: string[] = [];
  for (const d of await listDeadLetters(redis, dlq, count)) {
    if (!d.event || !d.stream) continue;
    let type = 'unknown';
    try {
      type = String((JSON.parse(d.event) as { type?: unknown }).type ?? 'unknown');
    } catch {
      // replayed as is; the consumer will dead-letter it again if it is still unreadable
    }
    const res = await redis
      .multi()
      .xadd(d.stream, '*', 'type', type, 'event', d.event)
      .xdel(dlq, d.id)
      .exec();
    const failed = res?.find(([err]) => err);
    if (!res || failed) throw failed?.[0] ?? new Error('replay transaction aborted');
    replayed.push(d.id);
  }
  return replayed;
}

async function cli(argv: string[]): Promise<void> {
  const [command, dlq, count] = argv;
  const url = process.env.REDIS_URL;
  if (!url || !dlq || (command !== 'list' && command !== 'replay')) {
    console.error('usage: REDIS_URL=redis://… npm run events -- <list|replay> <dead-letter stream> [count]');
    process.exitCode = 2;
    return;
  }
  const { Redis } = await import('ioredis');
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const n = count === undefined ? 100 : Number(count);
    if (command === 'list') {
      for (const d of await listDeadLetters(redis, dlq, n)) console.log(JSON.stringify(d));
    } else {
      const ids = await replayDeadLetters(redis, dlq, n);
      console.log(JSON.stringify({ replayed: ids.length, ids }));
    }
  } finally {
    redis.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await cli(process.argv.slice(2));
