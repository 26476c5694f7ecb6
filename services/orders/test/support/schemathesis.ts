/**
 * schemathesis (the OpenAPI fuzzer, from PyPI into .tools/venv-schemathesis by
 * scripts/bootstrap.sh `ensure_schemathesis`) run against one live server:
 * every check, a bounded number of examples per operation, a fixed seed, and
 * its JSON + JUnit reports and its printed output under .run/schemathesis/<name>/. The verdict is read
 * from the JSON report, not from the exit code alone.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BIN = `${ROOT}.tools/venv-schemathesis/bin/schemathesis`;
const CONFIG = `${ROOT}contracts/schemathesis.toml`;

/** Values that exist, for one run: schemathesis picks them for a parameter with `probability`, else generates. */
export interface KnownValues {
  /** `path.id`, `query.cursor`, `body.items[*].productId`, … */
  parameter: string;
  values: readonly string[];
  probability: number;
}

export interface FuzzOptions {
  /** Names the report folder: .run/schemathesis/<name>/. */
  name: string;
  /** Base URL the document's paths are appended to. */
  url: string;
  /** The document: a file, or (default) the server's own /openapi.json. */
  document?: string;
  /** Only the operations whose path matches (schemathesis --include-path-regex). */
  includePathRegex?: string;
  /** Test cases per operation and phase (schemathesis --max-examples). */
  maxExamples: number;
  seed: number;
  /** Extra request headers, e.g. a consumer's apikey. */
  headers?: Record<string, string>;
  /** Ids that exist, on top of contracts/schemathesis.toml. */
  known?: KnownValues[];
  /** Overall bound on the run. */
  timeoutMs: number;
}

export interface FuzzResult {
  /** Operations tested, of `selected` (every operation of the document but its own /openapi.json). */
  operations: number;
  selected: number;
  examples: number;
  /** Unique failures (a check that failed for an operation). */
  failures: number;
  /** Operations schemathesis could not test (an error, not a finding). */
  errors: number;
  exitCode: number;
  /** schemathesis' own output: the FAILURES section says what broke and how to reproduce it. */
  output: string;
  reportDir: string;
}

interface JsonReport {
  exit_code: number;
  operations: { selected: number; tested: number; errored: number };
  test_cases: { generated: number; unique_failures: number; errored: number };
  failures: { count: number }[];
  errors: unknown[];
}

export async function runSchemathesis(o: FuzzOptions): Promise<FuzzResult> {
  if (!existsSync(BIN)) {
    throw new Error(
      `schemathesis is not installed at ${BIN}: run \`bash -c '. scripts/bootstrap.sh && ensure_schemathesis'\` (npm test does this)`,
    );
  }
  const reportDir = `${ROOT}.run/schemathesis/${o.name}`;
  rmSync(reportDir, { recursive: true, force: true });
  mkdirSync(reportDir, { recursive: true });
  const jsonPath = `${reportDir}/report.json`;
  // The shared settings with this run's known values in front (dotted
  // top-level keys: the shared file opens no table before [[operations]]).
  const configPath = `${reportDir}/schemathesis.toml`;
  const known = (o.known ?? []).flatMap((k, i) => [
    `dictionaries.known${i}.values = ${JSON.stringify(k.values)}`,
    `parameters.${JSON.stringify(k.parameter)} = { dictionary = "known${i}", probability = ${k.probability} }`,
  ]);
  writeFileSync(configPath, `${known.join('\n')}\n${readFileSync(CONFIG, 'utf8')}`);
  const args = [
    '--config-file',
    configPath,
    'run',
    o.document ?? `${o.url}/openapi.json`,
    '--url',
    o.url,
    '--checks',
    'all',
    '--max-examples',
    String(o.maxExamples),
    '--seed',
    String(o.seed),
    // Same seed, same run: no example database carried between runs.
    '--generation-database',
    'none',
    '--workers',
    '1',
    '--request-timeout',
    '5',
    '--no-color',
    '--report',
    'json,junit',
    '--report-dir',
    reportDir,
    '--report-json-path',
    jsonPath,
    '--report-junit-path',
    `${reportDir}/junit.xml`,
  ];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('--header', `${k}: ${v}`);
  if (o.includePathRegex) args.push('--include-path-regex', o.includePathRegex);
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    execFile(
      BIN,
      args,
      {
        cwd: reportDir, // hypothesis' scratch files land with the report
        timeout: o.timeoutMs,
        maxBuffer: 32 * 1024 * 1024,
        // Loopback only: no proxy may reroute the requests.
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? reportDir,
          NO_PROXY: '*',
          LANG: 'C.UTF-8',
        },
      },
      (err, stdout, stderr) => {
        const out = `${stdout}${stderr}`;
        if (err && typeof err.code !== 'number') {
          reject(
            new Error(`schemathesis did not finish (${err.signal ?? err.code ?? err.message}):\n${out}`),
          );
          return;
        }
        resolve({ code: typeof err?.code === 'number' ? err.code : 0, output: out });
      },
    );
  });
  writeFileSync(`${reportDir}/output.txt`, output);
  if (!existsSync(jsonPath)) throw new Error(`schemathesis wrote no report (exit ${code}):\n${output}`);
  const r = JSON.parse(readFileSync(jsonPath, 'utf8')) as JsonReport;
  return {
    operations: r.operations.tested,
    selected: r.operations.selected,
    examples: r.test_cases.generated,
    failures: r.test_cases.unique_failures,
    errors: r.errors.length + r.operations.errored,
    exitCode: code,
    output,
    reportDir,
  };
}
