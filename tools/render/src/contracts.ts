/**
 * The contracts the render writes: contracts/envelope.schema.json, the
 * CloudEvents envelope with the shop's `data` schemas, from the zod schemas
 * (events/src/envelope.ts and contracts/src/shop-events.ts).
 */
import { DATA_SCHEMAS } from '@breakwater/contracts';
import { envelopeJsonSchema } from '@breakwater/events/envelope';

/** repo-relative path → content. */
export function renderContractFiles(): Record<string, string> {
  return {
    'contracts/envelope.schema.json': `${JSON.stringify(envelopeJsonSchema(DATA_SCHEMAS), null, 2)}\n`,
  };
}
