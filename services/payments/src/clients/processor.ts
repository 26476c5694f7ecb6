/**
 * A simulated card processor: configurable latency and transient failure
 * rate, a deterministic decline rule, and idempotency by key like a real
 * processor — a repeated key answers the first result and charges nothing
 * new. Its records live in `simulated_processor_charges` (standing in for
 * the processor's own storage), so they survive a crash of the payments
 * process.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { type DeclineRule, declineReason } from '../domain/decline-rule.ts';
import { ProcessorUnavailableError } from '../errors.ts';

export interface ProcessorSettings extends DeclineRule {
  latencyMs: number;
  failureRate: number;
}

export type ChargeResult = { status: 'captured'; ref: string } | { status: 'declined'; reason: string };

interface ChargeRow {
  status: 'captured' | 'declined';
  ref: string | null;
  reason: string | null;
}

const toResult = (r: ChargeRow): ChargeResult =>
  r.status === 'captured'
    ? { status: 'captured', ref: r.ref ?? '' }
    : { status: 'declined', reason: r.reason ?? '' };

export class SimulatedProcessor {
  readonly #s: ProcessorSettings;
  readonly #pool: pg.Pool;
  readonly #random: () => number;

  constructor(settings: ProcessorSettings, pool: pg.Pool, random: () => number = Math.random) {
    if (settings.failureRate < 0 || settings.failureRate > 1) {
      throw new RangeError(`failureRate must be within 0..1, got ${settings.failureRate}`);
    }
    this.#s = settings;
    this.#pool = pool;
    this.#random = random;
  }

  /** Distinct captured charges so far. */
  async charges(): Promise<number> {
    const { rows } = await this.#pool.query(
      `SELECT count(*)::int AS n FROM simulated_processor_charges WHERE status = 'captured'`,
    );
    return (rows[0] as { n: number }).n;
  }

  async charge(c: {
    idempotencyKey: string;
    amountCents: number;
    customerId: string;
  }): Promise<ChargeResult> {
    const wait = this.#s.latencyMs * (0.5 + this.#random());
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const seen = await this.#find(c.idempotencyKey);
    if (seen) return seen;
    if (this.#random() < this.#s.failureRate) throw new ProcessorUnavailableError();
    const reason = declineReason(this.#s, c);
    await this.#pool.query(
      `INSERT INTO simulated_processor_charges (idempotency_key, status, ref, reason, amount_cents)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING`,
      [
        c.idempotencyKey,
        reason ? 'declined' : 'captured',
        reason ? null : `sim_${randomUUID()}`,
        reason ?? null,
        c.amountCents,
      ],
    );
    // Whoever inserted first decided; everyone answers that.
    const decided = await this.#find(c.idempotencyKey);
    if (!decided) throw new ProcessorUnavailableError('charge record vanished');
    return decided;
  }

  async #find(key: string): Promise<ChargeResult | undefined> {
    const { rows } = await this.#pool.query<ChargeRow>(
      'SELECT status, ref, reason FROM simulated_processor_charges WHERE idempotency_key = $1',
      [key],
    );
    return rows[0] ? toResult(rows[0]) : undefined;
  }
}
