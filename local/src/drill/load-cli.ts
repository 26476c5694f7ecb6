/**
 * `npm run load -- <profile> [--run-dir DIR] [--keep-up] [-- k6 args…]`
 *
 * Runs a k6 load profile (k6/load/<profile>.ts: smoke, average, stress,
 * spike, soak) against the platform — bringing it up with the fault
 * controller when it is not — as the development consumer alice with
 * rate-limit headroom (a preparation the fault controller undoes afterwards),
 * writing to Prometheus (tagged testid=load-<profile>-<timestamp>) when it
 * runs. Exits with k6's exit code (99: a threshold failed).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { controlCall } from '../control-client.ts';
import type { ProcessStatus } from '../managed-process.ts';
import { runCli } from '../run-cli.ts';
import { ensurePlatform } from './platform.ts';
import { ALICE_KEY, k6Binary } from './run-drill.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..', '..');
const USAGE =
  'usage: npm run load -- <smoke|average|stress|spike|soak> [--run-dir DIR] [--keep-up] [-- k6 args…]';

export async function main(argv: string[]): Promise<number> {
  const split = argv.indexOf('--');
  const own = split === -1 ? argv : argv.slice(0, split);
  const k6Args = split === -1 ? [] : argv.slice(split + 1);
  const profile = own.find((a) => !a.startsWith('--'));
  const runDirFlag = own.indexOf('--run-dir');
  if (!profile || own.includes('--help')) {
    process.stderr.write(`${USAGE}\n`);
    return profile ? 0 : 2;
  }
  const script = path.join('k6', 'load', `${profile}.ts`);
  if (!existsSync(path.join(ROOT, script))) {
    process.stderr.write(`no load profile "${profile}" (${script} does not exist)\n${USAGE}\n`);
    return 2;
  }
  const runDir = path.resolve(
    (runDirFlag >= 0 ? own[runDirFlag + 1] : undefined) ?? process.env.BW_RUN_DIR ?? path.join(ROOT, '.run'),
  );
  const log = (line: string) => process.stdout.write(`${line}\n`);
  const platform = await ensurePlatform({ root: ROOT, runDir, log });
  const testId = `load-${profile}-${new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
  try {
    const processes = (
      (await controlCall(platform.state, 'GET', '/v1/status')) as { processes: ProcessStatus[] }
    ).processes;
    const gateway = processes.find((p) => p.name === 'gateway-1');
    const prometheus = processes.find((p) => p.name === 'prometheus' && p.state === 'running');
    await controlCall(platform.state, 'POST', '/v1/faults', {
      drill: testId,
      name: 'headroom',
      preparation: true,
      maxDurationMs: 900_000,
      spec: { kind: 'limit', policy: 'alice', limits: { minute: 1_000_000 } },
    });
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      K6_NO_USAGE_REPORT: 'true',
      BASE_URL: gateway?.url ?? 'http://127.0.0.1:8080',
      API_KEY: ALICE_KEY,
    };
    const args = ['run', '--tag', `testid=${testId}`];
    if (prometheus?.url) {
      args.push('--out', 'experimental-prometheus-rw');
      env.K6_PROMETHEUS_RW_SERVER_URL = `${prometheus.url}/api/v1/write`;
      env.K6_PROMETHEUS_RW_TREND_STATS = 'p(50),p(95),p(99),avg,max';
    }
    args.push(...k6Args, script);
    log(`k6 ${args.join(' ')} (testid ${testId})`);
    return await new Promise<number>((resolve, reject) => {
      const child = spawn(k6Binary(ROOT), args, { cwd: ROOT, env, stdio: 'inherit' });
      child.on('error', reject);
      child.on('close', (code) => resolve(code ?? 1));
    });
  } finally {
    await controlCall(platform.state, 'DELETE', `/v1/faults?drill=${encodeURIComponent(testId)}`).catch(
      () => {},
    );
    if (platform.started && !own.includes('--keep-up')) await platform.stop();
  }
}

if (import.meta.main) runCli(() => main(process.argv.slice(2)));
