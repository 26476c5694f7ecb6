/** The simulated processor's deterministic decline rule (for tests and drills). No I/O. */
export interface DeclineRule {
  declineOverCents: number;
  declineMarker: string;
}

/** The decline reason, or undefined when the charge goes through. */
export function declineReason(
  rule: DeclineRule,
  charge: { amountCents: number; customerId: string },
): string | undefined {
  if (charge.customerId.toLowerCase().includes(rule.declineMarker.toLowerCase())) {
    return 'card declined (customer marker)';
  }
  if (charge.amountCents > rule.declineOverCents) return `amount over limit (${rule.declineOverCents} cents)`;
  return undefined;
}
