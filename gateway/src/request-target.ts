/**
 * Checks on what a client asks for, before anything is forwarded: only
 * origin-form targets (`/path?query`), no dot segments or encoded slashes
 * that could climb out of a route's prefix once the upstream decodes them,
 * no control characters, and a route chosen on whole path segments.
 */
import { isPrefixOf, type RouteConfig } from './config.ts';
import { GatewayError } from './errors.ts';

export interface Target {
  /** The path as sent (still percent-encoded). */
  path: string;
  /** `?…` or ''. */
  search: string;
}

const ORIGIN_FORM = /^\/[\x21-\x7e]*$/;
const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

export function parseTarget(url: string | undefined): Target {
  // Absolute-form (http://host/…), authority-form (CONNECT) and asterisk-form are a proxy's business, not ours.
  if (url === undefined || !ORIGIN_FORM.test(url) || url.startsWith('//'))
    throw new GatewayError('GW_ERR_BAD_PATH', 'Only origin-form request targets (/path) are accepted');
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const search = q === -1 ? '' : url.slice(q);
  if (path.includes('#'))
    throw new GatewayError('GW_ERR_BAD_PATH', 'Fragments are not allowed in a request target');
  if (!path.includes('%')) {
    // Nothing encoded (the common case): the same checks without splitting and decoding.
    if (DOT_SEGMENT.test(path) || path.includes('\\'))
      throw new GatewayError(
        'GW_ERR_BAD_PATH',
        'Dot segments, encoded slashes and double encoding are not allowed',
      );
    if (path.includes('//')) throw new GatewayError('GW_ERR_BAD_PATH', 'Empty path segments are not allowed');
    return { path, search };
  }
  for (const raw of path.split('/')) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new GatewayError('GW_ERR_BAD_PATH', 'Malformed percent-encoding in path');
    }
    if (seg === '.' || seg === '..' || /[/\\\0]/.test(seg) || (seg !== raw && /%/.test(seg)))
      throw new GatewayError(
        'GW_ERR_BAD_PATH',
        'Dot segments, encoded slashes and double encoding are not allowed',
      );
  }
  if (path.includes('//')) throw new GatewayError('GW_ERR_BAD_PATH', 'Empty path segments are not allowed');
  return { path, search };
}

/** Routes ordered so the longest prefix wins; `/` last. */
export function orderRoutes(routes: readonly RouteConfig[]): RouteConfig[] {
  return [...routes].sort((a, b) => b.path.length - a.path.length);
}

export function matchRoute(ordered: readonly RouteConfig[], path: string): RouteConfig | undefined {
  for (const r of ordered) if (isPrefixOf(r.path, path)) return r;
  return undefined;
}

/** The path sent upstream: `stripPrefix` removed, always starting with `/`. */
export function upstreamPath(route: RouteConfig, path: string): string {
  if (route.stripPrefix === undefined || route.stripPrefix === '/') return path;
  const rest = path.slice(route.stripPrefix.length);
  return rest === '' ? '/' : rest;
}
