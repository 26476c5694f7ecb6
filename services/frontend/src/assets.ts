/**
 * The page's static files, read once at start-up into memory: a fixed set
 * (no path from a request ever reaches the file system), each with its
 * content type and a strong ETag for revalidation.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/** URL path (`/js/main.js`) → asset, for every servable file under `dir`. */
export function loadAssets(dir: string = PUBLIC_DIR): ReadonlyMap<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const type = TYPES[extname(file)];
    if (type === undefined || file.endsWith('.d.ts')) continue;
    const body = readFileSync(join(dir, file));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    assets.set(`/${file.split(sep).join('/')}`, { body, contentType: type, etag });
  }
  return assets;
}
