/**
 * A fault filter in the spirit of Istio's HTTP fault injection: per route
 * (method and path prefix, or route template), delay some percentage of
 * requests and abort some percentage with a status. Rules are replaced at run
 * time through the loopback admin endpoint (see `admin.ts`); health and
 * metrics endpoints are never faulted.
 *
 * Order per matching request (as Istio): the delay first, then the abort.
 * The first matching rule applies.
 */

import { counter } from '@breakwater/observability';
import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import { MeshError } from '../errors.ts';
import { formatIssues } from '../policy.ts';

const percent = z.number().min(0).max(100);

export const FaultRuleSchema = z
  .strictObject({
    /** Free label for humans and the metric (`route` label falls back to it). */
    id: z.string().min(1).max(100).optional(),
    match: z
      .strictObject({
        /** Upper-case HTTP method; any when absent. */
        method: z
          .string()
          .regex(/^[A-Z]+$/, 'must be an upper-case HTTP method')
          .optional(),
        /** Path prefix (`/products`). */
        pathPrefix: z.string().startsWith('/').max(500).optional(),
        /** Route template (`/products/:id`), matched against the path. */
        route: z.string().startsWith('/').max(500).optional(),
      })
      .refine((m) => !(m.pathPrefix && m.route), { message: 'give pathPrefix or route, not both' }),
    delay: z.strictObject({ percent, ms: z.number().int().min(0).max(60_000) }).optional(),
    abort: z.strictObject({ percent, status: z.number().int().min(400).max(599) }).optional(),
  })
  .refine((r) => r.delay || r.abort, { message: 'a rule needs delay, abort or both' });

export const FaultConfigSchema = z.strictObject({
  faults: z.array(FaultRuleSchema).max(100),
});

export type FaultRule = z.output<typeof FaultRuleSchema>;
export type FaultConfig = z.output<typeof FaultConfigSchema>;

interface CompiledRule {
  rule: FaultRule;
  method: string | undefined;
  prefix: string | undefined;
  pattern: RegExp | undefined;
  label: string;
}

/** `/products/:id` → /^\/products\/[^/]+\/?$/ */
function compileTemplate(template: string): RegExp {
  const parts = template.split('/').map((seg) => {
    if (seg.startsWith(':')) return '[^/]+';
    if (seg === '*') return '.*';
    return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return new RegExp(`^${parts.join('/')}/?$`);
}

/** Paths the filter never touches. */
const EXEMPT = ['/health/', '/metrics'];

export class FaultFilter {
  #rules: CompiledRule[] = [];
  #config: FaultConfig = { faults: [] };
  readonly #random: () => number;
  readonly #counter = counter('faultsInjected');

  constructor(random: () => number = Math.random) {
    this.#random = random;
  }

  /** The rules in force. */
  get config(): FaultConfig {
    return this.#config;
  }

  /**
   * Validates and replaces every rule at once. Throws MeshError
   * MESH_ERR_VALIDATION naming the bad field; nothing changes then.
   */
  set(input: unknown): FaultConfig {
    const r = FaultConfigSchema.safeParse(input);
    if (!r.success) {
      throw new MeshError('MESH_ERR_VALIDATION', formatIssues('', r.error) || 'invalid fault config');
    }
    const config = Object.freeze(r.data);
    this.#rules = config.faults.map((rule) => ({
      rule,
      method: rule.match.method,
      prefix: rule.match.pathPrefix,
      pattern: rule.match.route ? compileTemplate(rule.match.route) : undefined,
      label: rule.match.route ?? rule.match.pathPrefix ?? rule.id ?? '*',
    }));
    this.#config = config;
    return config;
  }

  clear(): void {
    this.#rules = [];
    this.#config = { faults: [] };
  }

  /** Express middleware. */
  readonly middleware = (req: Request, res: Response, next: NextFunction): void => {
    const path = req.path;
    const c =
      this.#rules.length === 0 || EXEMPT.some((e) => path.startsWith(e))
        ? undefined
        : this.#match(req.method, path);
    if (!c) {
      next();
      return;
    }
    const { delay, abort } = c.rule;
    const doAbort = abort !== undefined && this.#random() * 100 < abort.percent;
    const finish = () => {
      if (res.headersSent) return; // answered meanwhile (deadline): nothing left to do
      if (doAbort && abort) {
        this.#counter.labels(c.label, 'abort').inc();
        res.setHeader('x-bw-fault', 'abort');
        next(
          new MeshError('MESH_ERR_FAULT_INJECTED', `fault filter aborted the request (${c.label})`, {
            status: abort.status,
          }),
        );
        return;
      }
      next();
    };
    if (delay && this.#random() * 100 < delay.percent) {
      this.#counter.labels(c.label, 'delay').inc();
      res.setHeader('x-bw-fault-delay-ms', String(delay.ms));
      setTimeout(finish, delay.ms);
      return;
    }
    finish();
  };

  #match(method: string, path: string): CompiledRule | undefined {
    for (const c of this.#rules) {
      if (c.method && c.method !== method) continue;
      if (c.prefix && !path.startsWith(c.prefix)) continue;
      if (c.pattern && !c.pattern.test(path)) continue;
      return c;
    }
    return undefined;
  }
}
