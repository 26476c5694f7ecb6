/**
 * The process environment every service reads (docs/conventions.md),
 * validated once at start-up; the message names the variable.
 */
import { z } from 'zod';
import { MeshError } from './errors.ts';

const port = z.coerce.number().int().min(0).max(65_535);

export const ServiceEnvSchema = z.object({
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: port.default(0),
  BW_SERVICE: z.string().regex(/^[a-z][a-z0-9-]*$/, 'must be a lower-case service name'),
  BW_ADMIN_PORT: port.optional(),
  BW_ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  LOG_LEVEL: z.string().default('info'),
});

export type ServiceEnv = z.output<typeof ServiceEnvSchema>;

/**
 * Reads HOST, PORT, BW_SERVICE, BW_ADMIN_PORT, BW_ADMIN_TOKEN, LOG_LEVEL.
 * BW_ADMIN_PORT without BW_ADMIN_TOKEN is refused. Services validate their
 * own variables (DATABASE_URL, <UPSTREAM>_URL, …) the same way.
 */
export function readServiceEnv(env: NodeJS.ProcessEnv = process.env): Readonly<ServiceEnv> {
  const r = ServiceEnvSchema.safeParse(env);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new MeshError('MESH_ERR_INVALID_POLICY', `invalid environment: ${msg}`);
  }
  if (r.data.BW_ADMIN_PORT !== undefined && r.data.BW_ADMIN_TOKEN === undefined) {
    throw new MeshError(
      'MESH_ERR_INVALID_POLICY',
      'invalid environment: BW_ADMIN_TOKEN: required when BW_ADMIN_PORT is set',
    );
  }
  return Object.freeze(r.data);
}
