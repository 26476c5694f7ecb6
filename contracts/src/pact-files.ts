/**
 * The committed Pact files (contracts/pacts/) and the rule that keeps them
 * honest, for the pact tests of every workspace (test support, no runtime use).
 *
 * Order within one `npm test`: a consumer test writes its pact into a scratch
 * folder and checks it equals the committed file (so a consumer change that
 * is not committed fails, naming the file); a provider test verifies the
 * committed file. The two never wait for each other, and the provider always
 * verifies what is in the repository. `BW_PACT_WRITE=1` makes a consumer test
 * write the committed file instead (then review the diff and commit it).
 */
import { deepStrictEqual } from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** contracts/pacts/, absolute. */
export const PACT_DIR = fileURLToPath(new URL('../pacts/', import.meta.url));

// Pact's native core reports usage to Google Analytics unless this is set (vitest.config.ts sets it too).
process.env.PACT_DO_NOT_TRACK = 'true';

/** The participants' names as they appear in pact files (`<consumer>-<provider>.json`). */
export const PACTICIPANTS = {
  orders: 'orders',
  catalog: 'catalog',
  payments: 'payments',
  notifications: 'notifications',
  frontend: 'frontend',
  k6: 'k6-shop-client',
  gateway: 'gateway',
} as const;

/** contracts/pacts/<consumer>-<provider>.json */
export function pactFile(consumer: string, provider: string): string {
  return join(PACT_DIR, `${consumer}-${provider}.json`);
}

/** A fresh folder for a consumer test's pact output; `remove()` deletes it. */
export function scratchPactDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bw-pact-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

interface PactDocument {
  interactions?: unknown[];
  messages?: unknown[];
}

const interactionsIn = (doc: PactDocument): unknown[] => doc.interactions ?? doc.messages ?? [];

/** The interactions (HTTP) or messages of a pact file. */
export function interactionsOf(file: string): unknown[] {
  return interactionsIn(JSON.parse(readFileSync(file, 'utf8')) as PactDocument);
}

/**
 * The last step of every consumer test: the pact it generated into `dir` is
 * the committed one (with BW_PACT_WRITE=1 the generated file is first copied
 * over the committed one). Throws, naming the file, the way to update it and
 * the difference, when it is stale; prints the count line `npm test` shows
 * and returns the count.
 */
export function assertPactCommitted(
  dir: string,
  consumer: string,
  provider: string,
  testFile: string,
): number {
  const text = readFileSync(join(dir, `${consumer}-${provider}.json`), 'utf8');
  const file = pactFile(consumer, provider);
  if (process.env.BW_PACT_WRITE === '1') writeFileSync(file, text.endsWith('\n') ? text : `${text}\n`);
  let committed: unknown;
  try {
    committed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(
      `${file}: ${(err as Error).message} — run the consumer test with BW_PACT_WRITE=1 to write it, then commit it`,
    );
  }
  const generated = JSON.parse(text) as PactDocument;
  try {
    deepStrictEqual(generated, committed);
  } catch (err) {
    throw new Error(
      `${file} differs from what the consumer test generates: if the consumer changed on purpose, run BW_PACT_WRITE=1 npx vitest run ${testFile} and commit the pact (its providers then verify the new version)\n${(err as Error).message}`,
    );
  }
  const n = interactionsIn(generated).length;
  console.log(
    `pact consumer ${consumer}, provider ${provider}: ${n} interactions written by the consumer, committed file current`,
  );
  return n;
}

/**
 * Awaits a Pact verification; when it fails, rethrows with the verifier's
 * own report (which interaction, which field, expected and actual) instead
 * of the native core's JSON blob.
 */
export async function explainVerification<T>(verification: Promise<T>): Promise<T> {
  try {
    return await verification;
  } catch (err) {
    let output: unknown;
    try {
      output = (JSON.parse((err as Error).message) as { output?: unknown }).output;
    } catch {
      throw err;
    }
    if (!Array.isArray(output)) throw err;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the report's ANSI colours
    const report = output.join('\n').replace(/\u001b\[[0-9;]*m/g, '');
    const failures = report.indexOf('Failures:');
    throw new Error(`pact verification failed\n${failures >= 0 ? report.slice(failures) : report}`);
  }
}
