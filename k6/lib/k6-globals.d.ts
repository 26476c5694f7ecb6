// k6 provides `console` at run time but @types/k6 leaves it to the DOM lib,
// which these scripts must not pull in (no browser or Node globals exist in k6).
declare const console: {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
};
