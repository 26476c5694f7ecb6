/**
 * Where an upstream's endpoints come from: one interface, the static
 * implementation here (a single URL or a list, what `baseUrl` has always
 * been) and a watched endpoints file in endpoints-file.ts. The client reads
 * `current()` once and then follows `subscribe`, so a source may change its
 * set at any time (Envoy's EDS, in the file-based flavour locally).
 */
import { MeshError } from '../errors.ts';
import type { Disposable } from './types.ts';

/** One endpoint as a source announces it. */
export interface EndpointSpec {
  /** `http(s)://host:port`; the upstream's path prefix is added by the client. */
  readonly url: string;
  /** False while the instance starts or drains: it gets no new requests. */
  readonly ready: boolean;
}

export interface EndpointSource {
  /** The endpoints now (frozen). */
  current(): readonly EndpointSpec[];
  /** Calls `listener` with every new set; dispose to stop. */
  subscribe(listener: (endpoints: readonly EndpointSpec[]) => void): Disposable;
  /** Stops watching (idempotent). */
  close(): void;
}

/** Checks one endpoint URL: http(s), and an origin only when `originOnly`. */
export function checkEndpointUrl(where: string, raw: string, originOnly: boolean): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new MeshError('MESH_ERR_INVALID_POLICY', `${where}: not a URL: ${raw}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MeshError('MESH_ERR_INVALID_POLICY', `${where}: must be http(s): ${raw}`);
  }
  if (originOnly && url.pathname.replace(/\/+$/, '') !== '') {
    throw new MeshError('MESH_ERR_INVALID_POLICY', `${where}: must be an origin without a path: ${raw}`);
  }
  return url;
}

/** Where a source reports a bad update it skipped (a pino logger fits). */
export interface EndpointLog {
  warn(details: object, message: string): void;
}

/** The default EndpointLog: a process warning (stderr). */
export const WARN_TO_STDERR: EndpointLog = {
  warn: (details, message) => process.emitWarning(`${message} ${JSON.stringify(details)}`),
};

const NOTHING: Disposable = { dispose() {}, [Symbol.dispose]() {} };

/**
 * A fixed set: one URL or a list, every endpoint ready. Every URL must carry
 * the same path prefix (the upstream has one), so the prefix is checked here.
 */
export function staticEndpoints(name: string, urls: string | readonly string[]): EndpointSource {
  const list = typeof urls === 'string' ? [urls] : urls;
  if (list.length === 0) {
    throw new MeshError('MESH_ERR_INVALID_POLICY', `createUpstream(${name}): no endpoint URL given`);
  }
  let prefix: string | undefined;
  const specs = list.map((u, i) => {
    const url = checkEndpointUrl(
      `createUpstream(${name}): baseUrl${list.length > 1 ? `[${i}]` : ''}`,
      u,
      false,
    );
    const p = url.pathname.replace(/\/+$/, '');
    if (prefix !== undefined && p !== prefix) {
      throw new MeshError(
        'MESH_ERR_INVALID_POLICY',
        `createUpstream(${name}): baseUrl[${i}] has path ${p || '/'}, baseUrl[0] has ${prefix || '/'}; endpoints share one path prefix`,
      );
    }
    prefix = p;
    return Object.freeze({ url: url.origin + p, ready: true });
  });
  const frozen = Object.freeze(specs);
  return {
    current: () => frozen,
    subscribe: () => NOTHING,
    close() {},
  };
}

/**
 * The state of a watched source (file, DNS): the last good set and its
 * listeners. The source calls `update` with every set it read (an identical
 * set is not announced) and hands its own teardown to `close` via `onClose`.
 */
export class WatchedEndpoints implements EndpointSource {
  #current: readonly EndpointSpec[];
  readonly #listeners = new Set<(endpoints: readonly EndpointSpec[]) => void>();
  #stop: (() => void) | undefined = undefined;
  closed = false;

  constructor(initial: readonly EndpointSpec[]) {
    this.#current = initial;
  }

  current(): readonly EndpointSpec[] {
    return this.#current;
  }

  update(next: readonly EndpointSpec[]): void {
    if (this.closed || sameSet(this.#current, next)) return;
    this.#current = next;
    for (const l of this.#listeners) l(next);
  }

  subscribe(listener: (endpoints: readonly EndpointSpec[]) => void): Disposable {
    this.#listeners.add(listener);
    const dispose = () => void this.#listeners.delete(listener);
    return { dispose, [Symbol.dispose]: dispose };
  }

  onClose(stop: () => void): void {
    this.#stop = stop;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.#listeners.clear();
    this.#stop?.();
  }
}

function sameSet(a: readonly EndpointSpec[], b: readonly EndpointSpec[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as EndpointSpec;
    const y = b[i] as EndpointSpec;
    if (x.url !== y.url || x.ready !== y.ready) return false;
  }
  return true;
}
