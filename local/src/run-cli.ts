/**
 * Runs a CLI's `main` (resolves with the exit code) as the process: the code
 * becomes the exit code; a thrown error is printed on one line to stderr
 * (its stack with `stack: true`) and exits `failureCode` (default 1).
 */
export function runCli(main: () => Promise<number>, o: { failureCode?: number; stack?: boolean } = {}): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      const text = err instanceof Error ? ((o.stack ? err.stack : undefined) ?? err.message) : String(err);
      process.stderr.write(`${text}\n`);
      process.exitCode = o.failureCode ?? 1;
    },
  );
}
