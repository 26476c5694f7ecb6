/**
 * orders → catalog through an endpoints file (local discovery): the client
 * balances over the instances listed and follows the file as the supervisor
 * rewrites it. Two real HTTP servers stand in for catalog instances.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CatalogClient } from '../src/clients/catalog-client.ts';

describe('CatalogClient with CATALOG_ENDPOINTS_FILE', () => {
  const hits = [0, 0];
  const servers: http.Server[] = [];
  const urls: string[] = [];
  let dir: string;
  let file: string;
  let client: CatalogClient;

  /** Write temp + rename, as the supervisor does. */
  const writeEndpoints = (ready: boolean[]) => {
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify({ endpoints: urls.map((url, i) => ({ url, ready: ready[i] })) }));
    renameSync(tmp, file);
  };

  beforeAll(async () => {
    for (const i of [0, 1]) {
      const server = http.createServer((req, res) => {
        hits[i] = (hits[i] ?? 0) + 1;
        req.resume();
        req.on('end', () => {
          res.writeHead(201, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ items: [] }));
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
    dir = mkdtempSync(path.join(os.tmpdir(), 'bw-orders-endpoints-'));
    file = path.join(dir, 'catalog.json');
    writeEndpoints([true, true]);
    // The base URL is only a fallback: the file wins.
    client = new CatalogClient('http://127.0.0.1:9', undefined, file);
  });

  afterAll(async () => {
    await client.upstream.close();
    for (const s of servers) await new Promise((r) => s.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('spreads reservations over every ready instance and stops sending to one marked not ready', async () => {
    for (let i = 0; i < 20; i++) expect((await client.reserve(`r-${i}`, [])).ok).toBe(true);
    expect(hits[0]).toBeGreaterThan(0);
    expect(hits[1]).toBeGreaterThan(0);

    writeEndpoints([true, false]);
    const deadline = Date.now() + 5_000;
    for (let i = 0; i < 500 && Date.now() < deadline; i++) {
      if (client.upstream.stats().endpoints?.find((e) => e.origin === urls[1])?.ready === false) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const second = hits[1];
    for (let i = 0; i < 20; i++) expect((await client.reserve(`s-${i}`, [])).ok).toBe(true);
    expect(hits[1]).toBe(second);
  });
});
