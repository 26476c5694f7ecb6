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
