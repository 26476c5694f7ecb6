/**
 * Writes a file whole: to a temp file beside it, then rename. A watcher
 * (the mesh's watchEndpointsFile, Prometheus' file_sd) never reads half a
 * file, and the temp name (`<file>.<pid>.tmp`) matches no `*.json` glob.
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}
