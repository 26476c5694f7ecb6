/** Per-process log files: the tail for error messages and `logs <name>`, and `-f` following. */
import { closeSync, openSync, readSync, statSync, watch } from 'node:fs';

/** The last `n` lines of a file ('' when it does not exist). Reads at most the last 1 MiB. */
export function tailLines(file: string, n: number): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    const length = Math.min(size, 1024 * 1024);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return n <= 0 ? '' : lines.slice(-n).join('\n');
  } finally {
    closeSync(fd);
  }
}

/** Indents a log tail for an error message, or says there was no output. */
export function formatTail(file: string, n = 15): string {
  const tail = tailLines(file, n);
  if (!tail) return `(no output in ${file})`;
  return `last lines of ${file}:\n${tail
    .split('\n')
    .map((l) => `  | ${l}`)
    .join('\n')}`;
}

/**
 * Writes what is appended to `file` from byte `from` on, until `signal` aborts.
 * Uses fs.watch plus a slow poll (watch can miss events on some filesystems).
 */
export function followFile(file: string, from: number, write: (chunk: string) => void, signal: AbortSignal) {
  let position = from;
  const drain = () => {
    let size: number;
    try {
      size = statSync(file).size;
    } catch {
      return;
    }
    if (size < position) position = 0; // truncated or replaced
    if (size === position) return;
    const fd = openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(size - position);
      readSync(fd, buffer, 0, buffer.length, position);
      position = size;
      write(buffer.toString('utf8'));
    } finally {
      closeSync(fd);
    }
  };
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    watcher = watch(file, drain);
  } catch {
    watcher = undefined;
  }
  const timer = setInterval(drain, 500);
  signal.addEventListener(
    'abort',
    () => {
      clearInterval(timer);
      watcher?.close();
    },
    { once: true },
  );
  drain();
}
