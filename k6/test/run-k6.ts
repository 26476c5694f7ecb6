/** Runs the repository's k6 (v2, .tools/bin/k6) from the repo root, bounded in time, with usage reports off. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const K6 = join(ROOT, '.tools', 'bin', 'k6');
const K6_TIMEOUT_MS = 25_000;

export interface K6Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function k6(args: readonly string[], env: Record<string, string> = {}): Promise<K6Result> {
  // k6 keeps a config folder under HOME: a fresh one per run, removed after.
  const home = mkdtempSync(join(tmpdir(), 'bw-k6-home-'));
  return new Promise((done, fail) => {
    const child = spawn(K6, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: home,
        K6_NO_USAGE_REPORT: 'true',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), K6_TIMEOUT_MS);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
      done({ code, stdout, stderr });
    });
  });
}
