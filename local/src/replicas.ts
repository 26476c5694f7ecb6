/**
 * Replicas: which services may run several instances, the `--replicas`
 * argument, and how an instance's name relates to its service. One instance
 * keeps the service's name (`catalog`, so the default topology's names stay);
 * more are `<service>-<n>`. A service name addresses all its instances.
 */
import { LocalError } from './errors.ts';

/** Stateless services: any number of instances share their database, stream and Redis. */
export const REPLICABLE_SERVICES = [
  'catalog',
  'orders',
  'payments',
  'notifications',
  'frontend',
  'gateway',
] as const;

/** Most instances of one service: each is a Node process of ~60-100 MB. */
export const MAX_REPLICAS = 9;

/** `detail`, then what is valid: the services that scale and the range (and the form, for --replicas). */
function badReplicas(detail: string, form = ''): LocalError {
  return new LocalError(
    'LOCAL_ERR_BAD_INPUT',
    `${detail}: ${form}1-${MAX_REPLICAS} instances of ${REPLICABLE_SERVICES.join(', ')}`,
  );
}

const FORM = 'use service=count,… (e.g. catalog=3,orders=2) with ';

/** Checks one service's count; the message names the valid services and the range. */
export function checkReplicas(service: string, count: string | number): number {
  if (!(REPLICABLE_SERVICES as readonly string[]).includes(service)) {
    throw badReplicas(`cannot replicate "${service}"`);
  }
  const n = typeof count === 'number' ? count : /^\d+$/.test(count) ? Number(count) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) {
    throw badReplicas(`bad replica count "${count}" for ${service}`);
  }
  return n;
}

/** `catalog=3,orders=2` → { catalog: 3, orders: 2 }. */
export function parseReplicas(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  const parts = text.split(',').map((s) => s.trim());
  if (parts.every((p) => p === '')) throw badReplicas('--replicas is empty', FORM);
  for (const part of parts) {
    const match = /^([a-z-]+)=(.*)$/.exec(part);
    if (!match?.[1]) throw badReplicas(`bad --replicas entry "${part}"`, FORM);
    if (out[match[1]] !== undefined) throw badReplicas(`--replicas names ${match[1]} twice`, FORM);
    out[match[1]] = checkReplicas(match[1], match[2] ?? '');
  }
  return out;
}

/** Name of instance `index` (1-based): the service's own name for a lone first instance. */
export function instanceName(service: string, index: number, replicas: number): string {
  return replicas === 1 && index === 1 ? service : `${service}-${index}`;
}

/** The instance's index within `service` (1 for the service's own name), or undefined when it is not one. */
export function instanceIndex(service: string, name: string): number | undefined {
  if (name === service) return 1;
  const match = /^(.+)-(\d+)$/.exec(name);
  return match?.[1] === service ? Number(match[2]) : undefined;
}

/** The names among `names` that `target` addresses: the process itself, or every instance of a service. */
export function addressed(target: string, names: readonly string[]): string[] {
  if (names.includes(target)) return [target];
  return names.filter((n) => instanceIndex(target, n) !== undefined);
}

/** Every name a command may address: the processes and the services with several instances. */
export function addressableNames(names: readonly string[]): string[] {
  const services = names.flatMap((n) => {
    const match = /^(.+)-\d+$/.exec(n);
    return match?.[1] && !names.includes(match[1]) ? [match[1]] : [];
  });
  return [...new Set([...names, ...services])];
}
