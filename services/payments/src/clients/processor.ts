/**
 * A simulated card processor: configurable latency and transient failure
 * rate, a deterministic decline rule, and idempotency by key like a real
 * processor (a repeated key answers the first result and charges nothing
 * new). `charges` counts distinct captured charges, for tests.
 */
import { randomUUID } from 'node:crypto';
import { type DeclineRule, declineReason } from '../domain/decline-rule.ts';
import { ProcessorUnavailableError } from '../errors.ts';

export interface ProcessorSettings extends DeclineRule {
  latencyMs: number;
  failureRate: number;
}

export type ChargeResult = { status: 'captured'; ref: string } | { status: 'declined'; reason: string };

export class SimulatedProcessor {
  readonly #s: ProcessorSettings;
  readonly #byKey = new Map<string, ChargeResult>();
  readonly #random: () => number;

  constructor(settings: ProcessorSettings, random: () => number = Math.random) {
    if (settings.failureRate < 0 || settings.failureRate > 1) {
      throw new RangeError(`failureRate must be within 0..1, got ${settings.failureRate}`);
    }
    this.#s = settings;
    this.#random = random;
  }

  /** Distinct captured charges so far. */
  get charges(): number {
    let n = 0;
    for (const r of this.#byKey.values()) if (r.status === 'captured') n++;
    return n;
  }

  async charge(c: {
    idempotencyKey: string;
    amountCents: number;
    customerId: string;
  }): Promise<ChargeResult> {
    const wait = this.#s.latencyMs * (0.5 + this.#random());
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const seen = this.#byKey.get(c.idempotencyKey);
    if (seen) return seen;
    if (this.#random() < this.#s.failureRate) throw new ProcessorUnavailableError();
    const reason = declineReason(this.#s, c);
    const result: ChargeResult = reason
      ? { status: 'declined', reason }
      : { status: 'captured', ref: `sim_${randomUUID()}` };
    this.#byKey.set(c.idempotencyKey, result);
    return result;
  }
}
