/**
 * Stage 6, answer: the upstream's answer streamed to the client, hop-by-hop
 * fields removed, with the rate-limit fields, the request id and Via. When the
 * stale stage asks for it, a copy of the body is kept for stale-if-error on
 * the way through (at most maxEntryBytes, at most once a second per target).
 */
import type { MeshStreamResponse } from '@breakwater/mesh/client';
import { clientResponseHeaders } from '../forwarding.ts';
import type { StaleCache } from '../stale-cache.ts';
import type { RequestContext } from './context.ts';

/** Collects the body's chunks for the cache, giving up past the route's entry size. */
function keepCopy(ctx: RequestContext, upstreamRes: MeshStreamResponse, cache: StaleCache): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const { body } = upstreamRes;
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    if (size > cache.config.maxEntryBytes) body.off('data', onData);
    else chunks.push(chunk);
  };
  body.on('data', onData);
  body.once('end', () => {
    if (size > cache.config.maxEntryBytes) return;
    cache.keep(
      ctx.path + ctx.search,
      upstreamRes.status,
      upstreamRes.headers,
      clientResponseHeaders(upstreamRes.headers),
      Buffer.concat(chunks, size),
      ctx.upstreamHeaders ?? {},
      Date.now(),
    );
  });
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
  if (keep !== undefined) keepCopy(ctx, upstreamRes, keep);
  // Plain pipe rather than stream.pipeline: pipeline allocates and aborts an
  // AbortController per call, which showed in profiles on this hot path.
  return new Promise<void>((resolve) => {
    const body = upstreamRes.body;
    // The upstream broke mid-body (the body closes without ending): nothing left
    // to answer but a cut connection. 'close', not 'error': see MeshStreamResponse.
    body.once('close', () => {
      if (!body.readableEnded) res.destroy();
    });
    res.once('close', () => {
      if (!body.destroyed && !body.readableEnded) body.destroy();
      resolve();
    });
    body.pipe(res);
  });
}
