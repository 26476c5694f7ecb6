import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

// Prometheus rule files are checked and unit-tested by promtool itself
// (Debian's prometheus package, v2.42); the test fails with promtool's output.
const prometheusDir = join(import.meta.dirname, '..', 'prometheus');
const rulesDir = join(prometheusDir, 'rules');
const testsDir = join(prometheusDir, 'tests');

const ruleFiles = readdirSync(rulesDir)
  .filter((f) => f.endsWith('.yml'))
  .sort();
const testFiles = readdirSync(testsDir)
  .filter((f) => f.endsWith('.test.yml'))
  .sort();

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw new Error(`promtool could not run: ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface RuleGroupFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface RuleTestFile {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

const alertNames = ruleFiles.flatMap((f) =>
  (parse(readFileSync(join(rulesDir, f), 'utf8')) as RuleGroupFile).groups.flatMap((g) =>
    g.rules.flatMap((r) => (r.alert ? [r.alert] : [])),
  ),
);

describe('Prometheus rules', () => {
  it('finds the rule files and their tests', () => {
    expect(ruleFiles).toEqual([
      'events.yml',
      'identity.yml',
      'platform.yml',
      'red.yml',
      'resilience.yml',
      'slo.yml',
    ]);
    expect(testFiles.length).toBeGreaterThanOrEqual(ruleFiles.length);
    expect(alertNames.length).toBeGreaterThanOrEqual(13);
  });

  it('every rule file passes promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', ...ruleFiles], rulesDir);
    expect(output, output).toContain('SUCCESS');
    expect(status, output).toBe(0);
  });

  it('every rule unit test passes promtool test rules', () => {
    const { status, output } = promtool(['test', 'rules', ...testFiles], testsDir);
    expect(output, output).not.toContain('FAILED');
    expect(status, output).toBe(0);
  });

  it('every alert has a unit test where it fires and one where it does not', () => {
    const firing = new Set<string>();
    const silent = new Set<string>();
    for (const f of testFiles) {
      const doc = parse(readFileSync(join(testsDir, f), 'utf8')) as RuleTestFile;
      for (const t of doc.tests) {
        for (const a of t.alert_rule_test ?? []) {
          ((a.exp_alerts ?? []).length > 0 ? firing : silent).add(a.alertname);
        }
      }
    }
    expect(
      alertNames.filter((a) => !firing.has(a)),
      'alerts never tested firing',
    ).toEqual([]);
    expect(
      alertNames.filter((a) => !silent.has(a)),
      'alerts never tested silent',
    ).toEqual([]);
  });

  it('reports a wrong expectation as a failure (the harness can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-promtool-'));
    try {
      // The platform test, but expecting payments (which recovered) to be down.
      const original = readFileSync(join(testsDir, 'platform.test.yml'), 'utf8');
      const broken = original
        .replace('../rules/platform.yml', join(rulesDir, 'platform.yml'))
        .replace('exp_labels: { job: catalog', 'exp_labels: { job: payments');
      expect(broken).not.toBe(original);
      writeFileSync(join(dir, 'broken.test.yml'), broken);
      const { status, output } = promtool(['test', 'rules', 'broken.test.yml'], dir);
      expect(output).toContain('FAILED');
      expect(status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
