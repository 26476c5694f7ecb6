/**
 * The rules of one edge of mesh/policy.yaml: which requests a caller may send
 * its callee, in Istio's AuthorizationPolicy vocabulary so that the rendered
 * `to: - operation: {methods, paths}` and the server kit's enforcement read
 * the same data the same way.
 *
 * An edge's rules are a list of operations; a request is allowed when one of
 * them matches (OR). Within an operation, `methods` and `paths` must both
 * match (AND); a field left out matches everything. A path is matched
 * without its query string, as Istio does:
 *
 *   /products      exact
 *   /products/*    prefix (`/products/` and anything below; not `/products`)
 *   *.json         suffix
 *   *              any path
 */
import { z } from 'zod';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** Exact `/x`, prefix `/x*`, suffix `*x` or `*`: one `*`, at an end (Istio's path forms). */
const pathPattern = z
  .string()
  .regex(/^(\*|\*[^*\s]+|\/[^*\s]*\*?)$/, 'must be an exact path (/x), a prefix (/x/*), a suffix (*x) or *');

export const operationSchema = z
  .strictObject({
    /** Upper-case HTTP methods; HEAD is not implied by GET (Istio matches the method as sent). */
    methods: z.array(z.enum(HTTP_METHODS)).min(1).optional(),
    paths: z.array(pathPattern).min(1).optional(),
  })
  .refine((o) => o.methods !== undefined || o.paths !== undefined, 'give methods, paths or both');

export type Operation = z.output<typeof operationSchema>;

/** Whether a request matches one of `operations`; built once per edge, no pattern work per request. */
export type OperationMatcher = (method: string, path: string) => boolean;

interface CompiledPaths {
  readonly any: boolean;
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
  readonly suffixes: readonly string[];
}

function compilePaths(paths: readonly string[]): CompiledPaths {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const suffixes: string[] = [];
  let any = false;
  for (const p of paths) {
    if (p === '*') any = true;
    else if (p.startsWith('*')) suffixes.push(p.slice(1));
    else if (p.endsWith('*')) prefixes.push(p.slice(0, -1));
    else exact.add(p);
  }
  return { any, exact, prefixes, suffixes };
}

function pathsMatch(c: CompiledPaths, path: string): boolean {
  return (
    c.any ||
    c.exact.has(path) ||
    c.prefixes.some((p) => path.startsWith(p)) ||
    c.suffixes.some((s) => path.endsWith(s))
  );
}

export function compileOperations(operations: readonly Operation[]): OperationMatcher {
  const compiled = operations.map((o) => ({
    methods: o.methods && new Set<string>(o.methods),
    paths: o.paths && compilePaths(o.paths),
  }));
  return (method, path) =>
    compiled.some(
      (o) =>
        (o.methods === undefined || o.methods.has(method)) &&
        (o.paths === undefined || pathsMatch(o.paths, path)),
    );
}

/** `GET|HEAD /products, /products/*; POST /reservations` — for messages and READMEs. */
export function describeOperations(operations: readonly Operation[]): string {
  return operations.map((o) => `${o.methods?.join('|') ?? '*'} ${o.paths?.join(', ') ?? '*'}`).join('; ');
}
