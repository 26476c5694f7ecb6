/**
 * An endpoint source read from a JSON file that another process (the local
 * supervisor) rewrites, in the spirit of Envoy's file-based EDS:
 *
 *   { "endpoints": [{ "url": "http://127.0.0.1:4101", "ready": true }] }
 *
 * Writers replace the file by rename (write a temp file, rename over), so
 * the directory is watched, not the file: a watch on the file itself follows
 * the old inode and goes quiet after the first rename. Every event re-reads
 * the file (coalesced to one read per tick); content that does not parse
 * keeps the last good set and is logged, so a half-written or bad file never
 * empties the upstream.
 */
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { z } from 'zod';
import { MeshError } from '../errors.ts';
import { formatIssues } from '../policy.ts';
import {
  checkEndpointUrl,
  type EndpointLog,
  type EndpointSource,
  type EndpointSpec,
  WARN_TO_STDERR,
  WatchedEndpoints,
} from './endpoint-source.ts';

const FileSchema = z.strictObject({
  endpoints: z
    .array(z.strictObject({ url: z.string().min(1), ready: z.boolean().default(true) }))
    .max(10_000),
});

/** Reads and checks the file; throws MESH_ERR_INVALID_POLICY naming the file and field. */
export function readEndpointsFile(path: string): readonly EndpointSpec[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new MeshError('MESH_ERR_INVALID_POLICY', `endpoints file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      `endpoints file ${path}: not JSON: ${(e as Error).message}`,
    );
  }
  const r = FileSchema.safeParse(json);
  if (!r.success) {
    throw new MeshError('MESH_ERR_INVALID_POLICY', `endpoints file ${path}: ${formatIssues('', r.error)}`);
  }
  const seen = new Set<string>();
  return Object.freeze(
    r.data.endpoints.map((e, i) => {
      const url = checkEndpointUrl(`endpoints file ${path}: endpoints.${i}.url`, e.url, true);
      if (seen.has(url.origin)) {
        throw new MeshError(
          'MESH_ERR_INVALID_POLICY',
          `endpoints file ${path}: endpoints.${i}.url repeats ${url.origin}`,
        );
      }
      seen.add(url.origin);
      return Object.freeze({ url: url.origin, ready: e.ready });
    }),
  );
}

/**
 * Watches `path`. The file must be valid at start (a start-up error names
 * the field); later bad content keeps the last good set and logs a warning.
 */
export function watchEndpointsFile(path: string, log: EndpointLog = WARN_TO_STDERR): EndpointSource {
  const source = new WatchedEndpoints(readEndpointsFile(path));
  const name = basename(path);
  let scheduled = false;

  const reread = () => {
    scheduled = false;
    if (source.closed) return;
    try {
      source.update(readEndpointsFile(path));
    } catch (e) {
      // A rename in progress (ENOENT) or a bad rewrite: keep serving the last good set.
      log.warn({ path, error: (e as Error).message }, 'endpoints file unreadable; keeping the last good set');
    }
  };

  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, file) => {
    if (file !== null && file !== name) return;
    if (scheduled) return;
    scheduled = true;
    setImmediate(reread);
  });
  watcher.on('error', (e) => log.warn({ path, error: e.message }, 'endpoints file watch failed'));
  source.onClose(() => watcher.close());
  return source;
}
