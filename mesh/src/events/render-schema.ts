// Writes envelope.schema.json from the zod schema in envelope.ts.
import { writeFileSync } from 'node:fs';
import { envelopeJsonSchema } from './envelope.ts';
import { DATA_SCHEMAS } from './shop-events.ts';

const file = new URL('./envelope.schema.json', import.meta.url);
writeFileSync(file, `${JSON.stringify(envelopeJsonSchema(DATA_SCHEMAS), null, 2)}\n`);
console.log(`wrote ${file.pathname}`);
