/**
 * Every command line `npm start` prints runs exactly as printed on a machine
 * whose system Node is older than 24: `up` is started for real (Redis,
 * catalog's PostgreSQL, catalog and one gateway: the cheapest run that prints
 * every hint), then each indented command line under its table is run by
 * bash, in order (an `export` holds for the lines after it), with
 * /usr/bin — where the system Node 20 lives — first on PATH.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'local', 'src', 'cli.ts');
const COMMAND = /^\s+((?:npm|curl|export) .*)$/;

function systemNodeMajor(): number {
  try {
    return Number(execFileSync('/usr/bin/node', ['-p', 'process.versions.node.split(".")[0]']).toString());
  } catch {
    return 0;
  }
}

describe('the command lines npm start prints', { timeout: 180_000 }, () => {
  let runDir: string;
  let child: ChildProcess;
  let output = '';

  beforeAll(async () => {
    runDir = mkdtempSync(path.join(os.tmpdir(), 'bw-printed-'));
    child = spawn(
      process.execPath,
      [CLI, 'up', '--run-dir', runDir, '--only', 'redis,pg-catalog,catalog,gateway-1', '--gateway-port', '0'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      output += c.toString();
    });
    const deadline = Date.now() + 150_000;
    for (let i = 0; i < 3_000 && Date.now() < deadline && !output.includes('Ctrl-C stops everything.'); i++) {
      if (child.exitCode !== null) throw new Error(`up exited ${child.exitCode}:\n${output}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!output.includes('Ctrl-C stops everything.')) throw new Error(`up did not get ready:\n${output}`);
  });

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(runDir, { recursive: true, force: true });
  });

  it('runs each one with exit 0, system Node first on PATH', () => {
    // The machine this test is for: a system Node older than the 24 the repo needs.
    expect(existsSync('/usr/bin/node')).toBe(true);
    expect(systemNodeMajor()).toBeLessThan(24);
    const lines = output
      .split('\n')
      .map((l) => COMMAND.exec(l)?.[1])
      .filter((l): l is string => l !== undefined);
    // The shop's two consumers, the admin export, limits get, status and logs.
    expect(lines.filter((l) => l.startsWith('curl '))).toHaveLength(2);
    expect(lines.some((l) => l.startsWith('npm run local -- status'))).toBe(true);
    expect(lines.some((l) => l.startsWith('npm run gateway -- limits get'))).toBe(true);
    // Each line, then its exit code on a line of its own; exports carry over.
    const script = lines.map((l) => `${l}\necho "@@rc=$?"`).join('\n');
    // vitest's own NODE_OPTIONS (loaders for Node 24) must not reach Node 20.
    const { NODE_OPTIONS: _drop, ...inherited } = process.env;
    const env = { ...inherited, PATH: `/usr/bin:/bin:${process.env.PATH ?? ''}` };
    const r = spawnSync('bash', ['-c', script], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
    const codes = [...r.stdout.matchAll(/@@rc=(\d+)/g)].map((m) => Number(m[1]));
    expect(codes, `${r.stdout}\n${r.stderr}`).toEqual(lines.map(() => 0));
    // The answers are the platform's, not refusals: products, the limits, the table.
    expect(r.stdout).toContain('"items"');
    expect(r.stdout).toContain('"id":"sku-0001"');
    expect(r.stdout).toMatch(/"policies"|"limits"/);
    expect(r.stdout).toMatch(/gateway-1\s+running/);
  });
});
