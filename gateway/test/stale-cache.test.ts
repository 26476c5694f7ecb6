import { describe, expect, it } from 'vitest';
import { keepPolicy, StaleCache } from '../src/stale-cache.ts';

const config = { defaultSeconds: 60, maxEntries: 3, maxBytes: 10, maxEntryBytes: 6 };
const keep = (
  c: StaleCache,
  key: string,
  body: string,
  headers: Record<string, string> = {},
  now = 0,
  req = {},
) => c.keep(key, 200, headers, { 'content-type': 'text/plain' }, Buffer.from(body), req, now);

describe('keepPolicy (RFC 9111 / RFC 5861)', () => {
  it('refuses what a shared cache may not serve stale', () => {
    for (const cc of [
      'no-store',
      'private',
      'no-cache',
      'must-revalidate',
      'proxy-revalidate',
      'max-age=5, No-Store',
    ])
      expect(keepPolicy({ 'cache-control': cc }, 60), cc).toBeUndefined();
    expect(keepPolicy({ vary: 'accept, *' }, 60)).toBeUndefined();
    expect(keepPolicy({ 'set-cookie': 'a=b' }, 60)).toBeUndefined();
  });

  it('takes s-maxage over max-age, the answer’s stale-if-error over the route default, and lists Vary', () => {
    expect(keepPolicy({ 'cache-control': 'max-age=10, s-maxage=20, stale-if-error=300' }, 60)).toEqual({
      freshS: 20,
      staleIfErrorS: 300,
      vary: [],
    });
    expect(keepPolicy({ 'cache-control': 'max-age="7"', vary: 'Accept, X-Consumer-Username' }, 60)).toEqual({
      freshS: 7,
      staleIfErrorS: 60,
      vary: ['accept', 'x-consumer-username'],
    });
    expect(keepPolicy({}, 60)).toEqual({ freshS: 0, staleIfErrorS: 60, vary: [] });
  });
});

describe('StaleCache', () => {
  it('keeps within the entry and byte caps, least recently used out first', () => {
    const c = new StaleCache(config);
    expect(keep(c, '/too-big', '1234567')).toBe(false); // over maxEntryBytes
    keep(c, '/a', '1234');
    keep(c, '/b', '1234');
    expect(c.find('/a', {}, 0)?.body.toString()).toBe('1234'); // /a is now the most recent
    keep(c, '/c', '1234'); // 12 bytes > 10: the least recent (/b) goes
    expect(c.find('/b', {}, 0)).toBeUndefined();
    expect([c.size, c.bytes]).toEqual([2, 8]);
    keep(c, '/d', '1');
    keep(c, '/e', '1'); // 4 entries > 3: /a goes
    expect(c.find('/a', {}, 0)).toBeUndefined();
    expect(c.size).toBe(3);
  });

  it('serves until freshness + stale-if-error has passed, counting the upstream’s Age', () => {
    const c = new StaleCache(config);
    keep(c, '/x', 'v', { 'cache-control': 'max-age=10, stale-if-error=20', age: '5' }, 100_000);
    expect(c.find('/x', {}, 100_000 + 24_000)).toBeDefined(); // generated 5 s before: 29 s old
    expect(c.find('/x', {}, 100_000 + 26_000)).toBeUndefined(); // 31 s old > 30
    expect(c.size).toBe(0);
  });

  it('matches the variant the answer varied on, and forgets a target the upstream stops letting it keep', () => {
    const c = new StaleCache(config);
    keep(c, '/v', 'en', { vary: 'accept-language' }, 0, { 'accept-language': 'en' });
    expect(c.find('/v', { 'accept-language': 'de' }, 0)).toBeUndefined();
    expect(c.find('/v', { 'accept-language': 'en' }, 0)?.body.toString()).toBe('en');
    keep(c, '/v', 'no', { 'cache-control': 'no-store' });
    expect(c.find('/v', { 'accept-language': 'en' }, 0)).toBeUndefined();
  });
});
