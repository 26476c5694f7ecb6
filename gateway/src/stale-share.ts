/**
 * Gateway processes share what they keep for stale-if-error: every answer a
 * process keeps from its upstream (at most once a second per target) is
 * published on one Redis channel, and every other process adopts it into its
 * own bounded cache. Without it a process could serve stale only what its own
 * clients happened to read — with two processes behind one SO_REUSEPORT port,
 * about half the targets. Best effort: Redis down means each process keeps
 * only its own answers, never a failed request.
 */
import { randomBytes } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Logger } from '@breakwater/observability';
import type { Redis } from 'ioredis';
import type { GatewayState } from './gateway-state.ts';
import type { StaleEntry } from './stale-cache.ts';

interface Message {
  from: string;
  route: string;
  key: string;
  status: number;
  headers: OutgoingHttpHeaders;
  body: string;
  generatedAt: number;
  freshS: number;
  staleIfErrorS: number;
  vary: string[];
  varyValues: string;
}

export interface StaleShareOptions {
  publisher: Redis;
  subscriber: Redis;
  channel: string;
  /** This process's name: its own messages come back and are skipped. */
  instance: string;
  state: () => GatewayState;
  log: Logger;
}

export interface StaleShare {
  /** Publishes what the caches of this state keep (call after every buildState). */
  attach(state: GatewayState): void;
  start(): Promise<void>;
}

export function createStaleShare(opts: StaleShareOptions): StaleShare {
  const { publisher, subscriber, channel } = opts;
  // Unique per process even when two gateways share a name (tests run several in one process).
  const instance = `${opts.instance}/${randomBytes(4).toString('hex')}`;
  const publish = (route: string, key: string, e: StaleEntry) => {
    const m: Message = {
      from: instance,
      route,
      key,
      status: e.status,
      headers: e.headers,
      body: e.body.toString('base64'),
      generatedAt: e.generatedAt,
      freshS: e.freshS,
      staleIfErrorS: e.staleIfErrorS,
      vary: [...e.vary],
      varyValues: e.varyValues,
    };
    publisher.publish(channel, JSON.stringify(m)).catch(() => undefined);
  };
  const receive = (ch: string, text: string) => {
    if (ch !== channel) return;
    let m: Message;
    try {
      m = JSON.parse(text) as Message;
    } catch {
      opts.log.warn({ channel }, 'stale-share: a message that is not JSON, ignored');
      return;
    }
    if (m.from === instance) return;
    const { from: _from, route, key, body, ...rest } = m;
    opts
      .state()
      .stale.get(route)
      ?.adopt(key, { ...rest, body: Buffer.from(body, 'base64') });
  };
  return {
    attach(state) {
      for (const [route, cache] of state.stale) cache.onKept = (key, entry) => publish(route, key, entry);
    },
    async start() {
      subscriber.on('message', receive);
      await subscriber.subscribe(channel).catch((err: Error) => {
        opts.log.warn(
          { err: err.message },
          'stale-share: not subscribed; this process keeps only its own answers',
        );
      });
    },
  };
}
