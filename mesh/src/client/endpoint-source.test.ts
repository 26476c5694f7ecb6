import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '../../test/helpers.ts';
import { isMeshError } from '../errors.ts';
import { type EndpointSource, type EndpointSpec, staticEndpoints } from './endpoint-source.ts';
import { dnsEndpoints } from './endpoints-dns.ts';
import { watchEndpointsFile } from './endpoints-file.ts';

const sources: EndpointSource[] = [];
afterEach(() => {
  for (const s of sources.splice(0)) s.close();
});

/** Writes the file the way the supervisor does: a temp file renamed over it. */
function writeAtomically(path: string, content: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, typeof content === 'string' ? content : JSON.stringify(content));
  renameSync(tmp, path);
}

describe('static endpoints', () => {
  it('one URL (today’s baseUrl) or a list sharing a path prefix; all ready', () => {
    expect(staticEndpoints('c', 'http://127.0.0.1:4000/api/').current()).toEqual([
      { url: 'http://127.0.0.1:4000/api', ready: true },
    ]);
    const list = staticEndpoints('c', ['http://127.0.0.1:4000', 'http://127.0.0.1:4001']);
    expect(list.current().map((e) => e.url)).toEqual(['http://127.0.0.1:4000', 'http://127.0.0.1:4001']);
    expect(Object.isFrozen(list.current())).toBe(true);
  });

  it('refuses a bad URL, an empty list and differing path prefixes, naming the entry', () => {
    const msg = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(isMeshError(e, 'MESH_ERR_INVALID_POLICY')).toBe(true);
        return (e as Error).message;
      }
      throw new Error('expected a refusal');
    };
    expect(msg(() => staticEndpoints('c', 'nope'))).toContain('baseUrl: not a URL');
    expect(msg(() => staticEndpoints('c', []))).toContain('no endpoint URL');
    expect(msg(() => staticEndpoints('c', ['ftp://x', 'http://y']))).toContain('baseUrl[0]: must be http(s)');
    expect(msg(() => staticEndpoints('c', ['http://x/a', 'http://y/b']))).toContain('baseUrl[1] has path /b');
  });
});

describe('watched endpoints file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bw-endpoints-'));
  let n = 0;
  const fresh = (content: unknown) => {
    const path = join(dir, `catalog-${n++}.json`);
    writeAtomically(path, content);
    return path;
  };

  it('follows rename-over rewrites; bad content keeps the last good set and is logged', async () => {
    const path = fresh({ endpoints: [{ url: 'http://127.0.0.1:4101', ready: true }] });
    const warnings: string[] = [];
    const src = watchEndpointsFile(path, { warn: (d) => warnings.push(JSON.stringify(d)) });
    sources.push(src);
    const seen: Array<readonly EndpointSpec[]> = [];
    src.subscribe((e) => seen.push(e));
    expect(src.current()).toEqual([{ url: 'http://127.0.0.1:4101', ready: true }]);

    writeAtomically(path, {
      endpoints: [{ url: 'http://127.0.0.1:4101', ready: false }, { url: 'http://127.0.0.1:4102' }],
    });
    await until(() => seen.length === 1);
    expect(src.current()).toEqual([
      { url: 'http://127.0.0.1:4101', ready: false },
      { url: 'http://127.0.0.1:4102', ready: true },
    ]);

    writeAtomically(path, '{"endpoints": [{"url": ');
    await until(() => warnings.length >= 1);
    writeAtomically(path, { endpoints: [{ url: 'http://127.0.0.1:4103/path' }] });
    await until(() => warnings.some((w) => w.includes('endpoints.0.url: must be an origin')));
    expect(src.current().map((e) => e.url)).toEqual(['http://127.0.0.1:4101', 'http://127.0.0.1:4102']);
    expect(seen).toHaveLength(1);

    // a third good rewrite after the bad ones still arrives (the watch survived the renames)
    writeAtomically(path, { endpoints: [{ url: 'http://127.0.0.1:4104' }] });
    await until(() => seen.length === 2);
    expect(src.current()).toEqual([{ url: 'http://127.0.0.1:4104', ready: true }]);
  });

  it('refuses a missing or invalid file at start, naming the file and field', () => {
    expect(() => watchEndpointsFile(join(dir, 'missing.json'))).toThrow(
      /endpoints file .*missing\.json: ENOENT/,
    );
    const path = fresh({ endpoints: [{ url: 'http://127.0.0.1:1', weight: 2 }] });
    expect(() => watchEndpointsFile(path)).toThrow(/endpoints\.0: Unrecognized key.*weight/);
    const dup = fresh({ endpoints: [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:1/' }] });
    expect(() => watchEndpointsFile(dup)).toThrow('endpoints.1.url repeats http://127.0.0.1:1');
  });

  it('stops calling listeners after dispose and close', async () => {
    const path = fresh({ endpoints: [] });
    const src = watchEndpointsFile(path);
    sources.push(src);
    let calls = 0;
    const sub = src.subscribe(() => calls++);
    writeAtomically(path, { endpoints: [{ url: 'http://127.0.0.1:4200' }] });
    await until(() => calls === 1);
    sub.dispose();
    writeAtomically(path, { endpoints: [{ url: 'http://127.0.0.1:4201' }] });
    await until(() => src.current()[0]?.url === 'http://127.0.0.1:4201');
    expect(calls).toBe(1);
  });
});

describe('DNS endpoints (headless Service)', () => {
  it('resolves a real name through getaddrinfo: localhost', async () => {
    const src = await dnsEndpoints({ host: 'localhost', port: 4001 });
    sources.push(src);
    expect(src.current().map((e) => e.url)).toContain('http://127.0.0.1:4001');
  });

  it('follows changes in the answer; a failed or empty answer keeps the last good set and is logged', async () => {
    let answer: Array<{ address: string; family: number }> | Error = [{ address: '10.0.0.2', family: 4 }];
    const warnings: string[] = [];
    const src = await dnsEndpoints({
      host: 'catalog.shop.svc.cluster.local',
      port: 8080,
      refreshMs: 5,
      log: { warn: (d) => warnings.push(JSON.stringify(d)) },
      lookup: async () => {
        if (answer instanceof Error) throw answer;
        return answer;
      },
    });
    sources.push(src);
    const seen: string[][] = [];
    src.subscribe((e) => seen.push(e.map((x) => x.url)));
    answer = [
      { address: '10.0.0.3', family: 4 },
      { address: 'fd00::4', family: 6 },
    ];
    await until(() => seen.length === 1);
    expect(seen[0]).toEqual(['http://10.0.0.3:8080', 'http://[fd00::4]:8080']);
    answer = new Error('ENOTFOUND');
    await until(() => warnings.length > 0);
    answer = [];
    await until(() => warnings.some((w) => w.includes('no addresses')));
    expect(src.current().map((e) => e.url)).toEqual(['http://10.0.0.3:8080', 'http://[fd00::4]:8080']);
    expect(seen).toHaveLength(1);
  });

  it('refuses an unresolvable name at start, naming it', async () => {
    await expect(dnsEndpoints({ host: 'no-such-host.invalid', port: 80 })).rejects.toThrow(
      'dnsEndpoints: cannot resolve no-such-host.invalid',
    );
  });
});
