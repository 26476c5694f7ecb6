/** Real HTTP upstreams on 127.0.0.1 port 0 for the mesh tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestUpstream {
  url: string;
  port: number;
  /** Requests received so far. */
  hits: number;
  /** Headers of the last request. */
  last: http.IncomingHttpHeaders | undefined;
  close(): Promise<void>;
}

export async function startUpstream(
  handler: (req: http.IncomingMessage, res: http.ServerResponse, hit: number) => void,
): Promise<TestUpstream> {
  const up: TestUpstream = {
    url: '',
    port: 0,
    hits: 0,
    last: undefined,
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    up.hits++;
    up.last = req.headers;
    handler(req, res, up.hits);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  up.port = (server.address() as AddressInfo).port;
  up.url = `http://127.0.0.1:${up.port}`;
  up.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return up;
}

/** Resolves when `predicate()` is true; rejects after `timeoutMs` (polls every `everyMs`). */
export async function until(predicate: () => boolean, timeoutMs = 5_000, everyMs = 5): Promise<void> {
  const end = performance.now() + timeoutMs;
  const maxPolls = Math.ceil(timeoutMs / everyMs) + 1;
  for (let i = 0; !predicate(); i++) {
    if (performance.now() > end || i >= maxPolls) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Catches the rejection of `p` (fails the test if it resolves). */
export async function rejection(
  p: Promise<unknown>,
): Promise<Error & { code?: string; [k: string]: unknown }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string; [k: string]: unknown };
  }
  throw new Error('expected the promise to reject');
}
