/** The one status table: every process with its state, pid, port and URL (and the table layout other reports share). */
import type { ProcessStatus } from './managed-process.ts';

export function describeState(p: ProcessStatus): string {
  if (p.state !== 'down') return p.state;
  if (p.signal) return `down (${p.signal})`;
  if (p.exitCode !== undefined && p.exitCode !== null) return `down (exit ${p.exitCode})`;
  return 'down';
}

export function formatStatusTable(processes: readonly ProcessStatus[]): string {
  const header = ['NAME', 'STATE', 'PID', 'PORT', 'URL'];
  const rows = processes.map((p) => [
    p.name,
    describeState(p),
    p.pid !== undefined ? String(p.pid) : '-',
    p.port !== undefined ? String(p.port) : '-',
    p.url ?? '-',
  ]);
  return formatTable(header, rows);
}

/** Columns padded to their widest cell, two spaces apart; `rightAligned` columns (numbers) pad on the left. */
export function formatTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  rightAligned: readonly number[] = [],
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) =>
        rightAligned.includes(i)
          ? c.padStart(widths[i] ?? 0)
          : i === cells.length - 1
            ? c
            : c.padEnd(widths[i] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
