/**
 * Writes a file whole: to a temp file beside it, then rename. A watcher
 * (the mesh's watchEndpointsFile, Prometheus' file_sd) never reads half a
 * file, and the temp name (`<file>.<pid>.tmp`) matches no `*.json` glob.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** `mode`: the file's permissions (e.g. 0o600), set on the temp file before it takes the name. */
export function writeFileAtomic(file: string, text: string, mode?: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, mode === undefined ? {} : { mode });
  // writeFileSync's mode applies only to a file it creates (and passes the umask): set it outright.
  if (mode !== undefined) chmodSync(tmp, mode);
  renameSync(tmp, file);
}
