/**
 * k6-style durations ("500ms", "30s", "2m", "1h30m") to milliseconds and back,
 * so profiles can do arithmetic on durations read from the environment.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string, name = 'duration'): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1_000; // a bare number means seconds
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(trimmed); m !== null; m = re.exec(trimmed)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== trimmed.length) {
    throw new Error(`${name}: "${text}" is not a duration (use e.g. 500ms, 30s, 2m, 1h30m)`);
  }
  return total;
}

/** Milliseconds to a k6 duration string ("1500ms" → "1500ms", "30000" → "30s"). */
export function formatDuration(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${Math.round(ms)}ms`;
}
