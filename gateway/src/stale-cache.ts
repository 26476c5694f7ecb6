/**
 * The last good answers of one route, for stale-if-error (RFC 5861): bounded
 * by entry count and body bytes (least recently used go first), keyed as an
 * HTTP cache keys them (RFC 9111 §4.1): the target (path and query) and the
 * values of the request fields the answer's Vary names. One variant per target
 * is kept: a new variant replaces the old, which is what "the last good answer"
 * means.
 *
 * What is kept follows the upstream's Cache-Control (RFC 9111 §3, §5.2.2):
 * no-store, private, no-cache, must-revalidate, proxy-revalidate, Vary: * and
 * Set-Cookie are never kept (a shared cache may not serve them stale, or they
 * belong to one client). Freshness is s-maxage, else max-age, else 0; an
 * answer may be served on error until freshness + stale-if-error (the
 * answer's own, else the route's defaultSeconds) has passed since it was
 * generated (its Age counted).
 *
 * The gateway authenticates before this stage and never forwards credentials,
 * so RFC 9111 §3.5 (Authorization) is the gateway's own concern: an upstream
 * whose answer depends on the consumer says `private` or
 * `Vary: x-consumer-username` (the header it receives).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { StaleIfErrorConfig } from './config.ts';

export interface StaleEntry {
  readonly status: number;
  /** As sent to the client (hop-by-hop fields already removed), without via and x-request-id. */
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
  /** When it was generated, ms since the epoch (stored time minus the upstream's Age). */
  readonly generatedAt: number;
  /** Freshness lifetime, s. */
  readonly freshS: number;
  /** How long past freshness it may be served on error, s. */
  readonly staleIfErrorS: number;
  /** Lower-cased request fields the answer varies on, and their values then. */
  readonly vary: readonly string[];
  readonly varyValues: string;
}

/** Freshness and stale window from a Cache-Control, or undefined when the answer must not be kept. */
export function keepPolicy(
  headers: Record<string, string | string[] | undefined>,
  defaultStaleS: number,
): { freshS: number; staleIfErrorS: number; vary: string[] } | undefined {
  if (headers['set-cookie'] !== undefined) return undefined;
  const vary: string[] = [];
  const v = headers.vary;
  if (v !== undefined)
    for (const part of (Array.isArray(v) ? v.join(',') : v).split(',')) {
      const name = part.trim().toLowerCase();
      if (name === '*') return undefined;
      if (name !== '') vary.push(name);
    }
  let maxAge: number | undefined;
  let sMaxAge: number | undefined;
  let staleIfErrorS = defaultStaleS;
  const cc = headers['cache-control'];
  if (cc !== undefined)
    for (const part of (Array.isArray(cc) ? cc.join(',') : cc).split(',')) {
      const eq = part.indexOf('=');
      const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
      const value = eq === -1 ? undefined : seconds(part.slice(eq + 1));
      switch (name) {
        case 'no-store':
        case 'private':
        case 'no-cache':
        case 'must-revalidate':
        case 'proxy-revalidate':
          return undefined;
        case 'max-age':
          maxAge = value;
          break;
        case 's-maxage':
          sMaxAge = value;
          break;
        case 'stale-if-error':
          if (value !== undefined) staleIfErrorS = value;
          break;
      }
    }
  return { freshS: sMaxAge ?? maxAge ?? 0, staleIfErrorS, vary };
}

/** A delta-seconds value (RFC 9111 §1.2.2), quotes tolerated; undefined when invalid. */
function seconds(raw: string): number | undefined {
  const t = raw.trim().replace(/^"(.*)"$/, '$1');
  return /^\d+$/.test(t) ? Math.min(Number(t), 2_147_483_648) : undefined;
}

function varyValues(vary: readonly string[], request: Record<string, string>): string {
  let out = '';
  for (const name of vary) out += `${request[name] ?? ''}\0`;
  return out;
}

export class StaleCache {
  readonly config: StaleIfErrorConfig;
  /** Told of every answer kept from the upstream (not of adopted ones): stale-share.ts sends it to the other gateway processes. */
  onKept: ((key: string, entry: StaleEntry) => void) | undefined = undefined;
  /** Insertion order is recency order: a hit re-inserts, eviction takes the first. */
  readonly #entries = new Map<string, StaleEntry>();
  #bytes = 0;

  constructor(config: StaleIfErrorConfig) {
    this.config = config;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Whether a fresh copy of this target is worth taking now: not when the kept
   * one was generated less than a second ago. Keeping every answer would copy
   * each body and turn the kept one into old-generation garbage per request;
   * once a second bounds both, for one second more of staleness.
   */
  wants(key: string, now: number): boolean {
    const e = this.#entries.get(key);
    return e === undefined || now - e.generatedAt >= 1_000;
  }

  /** Keeps an answer; false when it is not to be kept (policy or size). */
  keep(
    key: string,
    status: number,
    upstreamHeaders: Record<string, string | string[] | undefined>,
    clientHeaders: OutgoingHttpHeaders,
    body: Buffer,
    request: Record<string, string>,
    now: number,
  ): boolean {
    if (body.length > this.config.maxEntryBytes) return false;
    const policy = keepPolicy(upstreamHeaders, this.config.defaultSeconds);
    if (!policy) {
      this.#delete(key); // the upstream now says not to keep it: neither the old copy
      return false;
    }
    const ageHeader = upstreamHeaders.age;
    const age = typeof ageHeader === 'string' ? (seconds(ageHeader) ?? 0) : 0;
    const entry: StaleEntry = {
      status,
      headers: clientHeaders,
      body,
      generatedAt: now - age * 1000,
      freshS: policy.freshS,
      staleIfErrorS: policy.staleIfErrorS,
      vary: policy.vary,
      varyValues: varyValues(policy.vary, request),
    };
    this.#insert(key, entry);
    this.onKept?.(key, entry);
    return true;
  }

  /** Takes an answer another gateway process kept, unless the one here is as recent. */
  adopt(key: string, entry: StaleEntry): void {
    if (entry.body.length > this.config.maxEntryBytes) return;
    const mine = this.#entries.get(key);
    if (mine !== undefined && mine.generatedAt >= entry.generatedAt) return;
    this.#insert(key, entry);
  }

  #insert(key: string, entry: StaleEntry): void {
    this.#delete(key);
    this.#entries.set(key, entry);
    this.#bytes += entry.body.length;
    for (const [k] of this.#entries) {
      if (this.#entries.size <= this.config.maxEntries && this.#bytes <= this.config.maxBytes) break;
      this.#delete(k);
    }
  }

  /** The kept answer for this request, if its variant matches and its stale window has not passed. */
  find(key: string, request: Record<string, string>, now: number): StaleEntry | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if ((now - e.generatedAt) / 1000 > e.freshS + e.staleIfErrorS) {
      this.#delete(key);
      return undefined;
    }
    if (varyValues(e.vary, request) !== e.varyValues) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, e);
    return e;
  }

  #delete(key: string): void {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= e.body.length;
  }
}
