/**
 * Stage 6, answer: the upstream's answer streamed to the client, hop-by-hop
 * fields removed, with the rate-limit fields, the request id and Via. When the
 * stale stage asks for it, a copy of the body is kept for stale-if-error on
 * the way through (at most maxEntryBytes, at most once a second per target).
 */
import type { MeshStreamResponse, StreamObserver } from '@breakwater/mesh/client';
import { clientResponseHeaders } from '../forwarding.ts';
import type { StaleCache } from '../stale-cache.ts';
import type { RequestContext } from './context.ts';

/** Collects the body's chunks for the cache on their way out, giving up past the route's entry size. */
class KeptCopy implements StreamObserver {
  readonly #ctx: RequestContext;
  readonly #upstreamRes: MeshStreamResponse;
  readonly #cache: StaleCache;
  #chunks: Buffer[] = [];
  #size = 0;
  constructor(ctx: RequestContext, upstreamRes: MeshStreamResponse, cache: StaleCache) {
    this.#ctx = ctx;
    this.#upstreamRes = upstreamRes;
    this.#cache = cache;
  }
  chunk(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.#cache.config.maxEntryBytes) this.#chunks = [];
    else this.#chunks.push(chunk);
  }
  end(): void {
    if (this.#size > this.#cache.config.maxEntryBytes) return;
    const ctx = this.#ctx;
    const up = this.#upstreamRes;
    this.#cache.keep(
      ctx.path + ctx.search,
      up.status,
      up.headers,
      clientResponseHeaders(up.headers),
      Buffer.concat(this.#chunks, this.#size),
      ctx.upstreamHeaders ?? {},
      Date.now(),
    );
  }
}

export function answer(
  ctx: RequestContext,
  upstreamRes: MeshStreamResponse,
  via: string,
  keep: StaleCache | undefined,
): Promise<void> {
  const { res } = ctx;
  const out = clientResponseHeaders(upstreamRes.headers);
  const rl = ctx.rateLimitHeaders;
  if (rl !== undefined) for (const k in rl) out[k] = rl[k];
  out['x-request-id'] = ctx.requestId;
  const upstreamVia = out.via;
  out.via = upstreamVia === undefined ? via : `${String(upstreamVia)}, ${via}`;
  res.writeHead(upstreamRes.status, out);
  // The upstream's chunks go straight into the response (no Readable, no pipe: the
  // mesh client's fast path); a body the upstream cuts cuts the response, a client
  // that leaves stops the upstream's body. Resolves once the response has closed.
  return new Promise<void>((resolve) => {
    upstreamRes.sendTo(res, resolve, keep === undefined ? undefined : new KeptCopy(ctx, upstreamRes, keep));
  });
}
