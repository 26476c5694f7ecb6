/**
 * Rate limiting shared across gateway processes through one Redis: policy
 * selection (Kong's precedence), identity (consumer, IP, header or path), one
 * atomic script call per batch of decisions (the requests of one event-loop
 * turn: rate-limit-script.ts says why), live overrides, and the local
 * fallback when Redis is unreachable.
 */
import { hash } from 'node:crypto';
import { counter, gauge } from '@breakwater/observability';
import type { Redis } from 'ioredis';
import { type Limits, type RateLimitPolicy, WINDOW_SECONDS, WINDOWS, type WindowName } from './config.ts';
import { GatewayError } from './errors.ts';
import { LocalLimiter } from './local-limiter.ts';
import { RATE_LIMIT_LUA } from './rate-limit-script.ts';

export interface WindowDecision {
  name: WindowName | string;
  seconds: number;
  limit: number;
  remaining: number;
  /** Time until this window's quota resets (fixed) or, when blocking, until a request is admitted again (ms). */
  resetMs: number;
  /** This window refused the request. */
  blocking: boolean;
}

export interface Decision {
  allowed: boolean;
  policy: RateLimitPolicy;
  windows: WindowDecision[];
  /** `redis`: the shared, exact count; `local`: Redis unreachable, this process's count (fail-open). */
  source: 'redis' | 'local';
}

export interface RequestIdentity {
  route: string;
  consumer: string | undefined;
  ip: string;
  path: string;
  header: (name: string) => string | undefined;
}

export interface RateLimiterOptions {
  /** Command connection: offline queue off, so an unreachable Redis fails at once. */
  redis: Redis;
  /** Subscriber connection for override changes (a duplicate of `redis`). */
  subscriber?: Redis;
  keyPrefix: string;
  policies: readonly RateLimitPolicy[];
  log?: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
}

export type LimitOverride = Partial<Record<WindowName, number>>;

/** The ioredis command the script is defined as (app.ts keeps it out of auto-pipelining). */
export const RATE_LIMIT_COMMAND = 'bwRateLimit';
type ScriptRedis = Redis & { bwRateLimit(...args: (string | number)[]): Promise<number[]> };

const decisions = () => counter('gatewayRateLimitDecisions');

/** Identities whose script call is kept per policy (see #callOf). */
const IDENTITY_CACHE = 10_000;

interface ScriptCall {
  /** The window keys (also the local fallback's keys). */
  keys: string[];
  /** This request's KEYS in the script call: the overrides key, then the window keys. */
  scriptKeys: string[];
}

/** A decision waiting for its batch's script call. */
interface Pending {
  policy: RateLimitPolicy;
  plan: Plan;
  call: ScriptCall;
  route: string;
  consumer: string;
  resolve: (d: Decision) => void;
  reject: (err: unknown) => void;
}

/**
 * At most this many decisions per script call: Redis runs a script alone, so
 * one call must stay short (~1 µs of Lua per window per request).
 */
const MAX_BATCH = 256;

interface Plan {
  windows: WindowName[];
  windowSeconds: number[];
  args: (string | number)[];
  base: string;
  calls: Map<string, ScriptCall>;
}
const limitGauge = () => gauge('gatewayRateLimitLimit');

export class RateLimiter {
  readonly #redis: ScriptRedis;
  readonly #sub: Redis | undefined;
  readonly #prefix: string;
  readonly #local = new LocalLimiter();
  readonly #log: RateLimiterOptions['log'];
  #policies: readonly RateLimitPolicy[];
  /** Overrides as last seen (Redis is the truth; the script reads it per decision). */
  readonly #overrides = new Map<string, LimitOverride>();
  /** Per policy: its windows, the script's ARGV and the key prefix (built once, not per request). */
  #plans = new WeakMap<RateLimitPolicy, Plan>();

  #plan(policy: RateLimitPolicy): Plan {
    let plan = this.#plans.get(policy);
    if (!plan) {
      const windows = WINDOWS.filter((w) => policy.limits[w] !== undefined);
      const args: (string | number)[] = [policy.window, windows.length];
      for (const w of windows) args.push(w, WINDOW_SECONDS[w], policy.limits[w] as number);
      plan = {
        windows,
        args,
        base: `${this.#prefix}rl:${policy.window}:${policy.name}:`,
        calls: new Map(),
        windowSeconds: windows.map((w) => WINDOW_SECONDS[w]),
      };
      this.#plans.set(policy, plan);
    }
    return plan;
  }

  /**
   * The script keys for one identity under a policy — the overrides key and
   * the window keys — built once per identity rather than per request
   * (the same few consumers or IPs send most requests). Bounded: the cache is
   * dropped whole when it grows past IDENTITY_CACHE entries.
   */
  #callOf(policy: RateLimitPolicy, plan: Plan, identity: string): ScriptCall {
    let c = plan.calls.get(identity);
    if (!c) {
      const keys = plan.windows.map((w) => `${plan.base}${w}:${identity}`);
      c = { keys, scriptKeys: [this.overridesKey(policy.name), ...keys] };
      if (plan.calls.size >= IDENTITY_CACHE) plan.calls.clear();
      plan.calls.set(identity, c);
    }
    return c;
  }

  /** Labelled decision counters, cached by label values (prom-client hashes a labels object per call otherwise). */
  readonly #decisionCounters = new Map<string, { inc(): void }>();
  #countDecision(route: string, consumer: string, decision: string): void {
    const k = `${route}\0${consumer}\0${decision}`;
    let c = this.#decisionCounters.get(k);
    if (!c) {
      c = decisions().labels({ route, consumer, decision });
      this.#decisionCounters.set(k, c);
    }
    c.inc();
  }

  constructor(opts: RateLimiterOptions) {
    this.#redis = opts.redis as ScriptRedis;
    if (typeof this.#redis.bwRateLimit !== 'function')
      this.#redis.defineCommand(RATE_LIMIT_COMMAND, { lua: RATE_LIMIT_LUA });
    this.#sub = opts.subscriber;
    this.#prefix = opts.keyPrefix;
    this.#policies = opts.policies;
    this.#log = opts.log;
    this.#publishGauges();
  }

  get channel(): string {
    return `${this.#prefix}limits-changed`;
  }

  overridesKey(policy: string): string {
    return `${this.#prefix}limits:${policy}`;
  }

  /** Subscribes to override changes and loads the current overrides (best effort: Redis may be down). */
  async start(): Promise<void> {
    if (this.#sub) {
      this.#sub.on('message', (channel: string, message: string) => {
        if (channel === this.channel) void this.#refresh(message);
      });
      this.#sub.on('ready', () => void this.#refreshAll());
      await this.#sub.subscribe(this.channel).catch(() => undefined);
    }
    await this.#refreshAll();
  }

  setPolicies(policies: readonly RateLimitPolicy[]): void {
    this.#policies = policies;
    limitGauge().reset();
    this.#publishGauges();
  }

  get policies(): readonly RateLimitPolicy[] {
    return this.#policies;
  }

  /** The policy for a request: route+consumer, else consumer, else route (Kong's precedence). */
  select(route: string, consumer: string | undefined): RateLimitPolicy | undefined {
    let best: RateLimitPolicy | undefined;
    let bestScore = -1;
    for (const p of this.#policies) {
      if (p.route !== undefined && p.route !== route) continue;
      if (p.consumer !== undefined && p.consumer !== consumer) continue;
      const score = (p.consumer !== undefined ? 2 : 0) + (p.route !== undefined ? 1 : 0);
      if (score > bestScore) {
        best = p;
        bestScore = score;
      }
    }
    return best;
  }

  /** The limits in force: gateway.yaml's, with any live override on top. */
  effectiveLimits(policy: RateLimitPolicy): Limits {
    return { ...policy.limits, ...this.#overrides.get(policy.name) };
  }

  overrideOf(policy: string): LimitOverride | undefined {
    return this.#overrides.get(policy);
  }

  /** Decisions collected in this turn of the event loop, sent in one script call by #flush. */
  #batch: Pending[] = [];

  /**
   * The decision for one request. It joins the batch of this event-loop turn
   * (flushed by setImmediate, after every request that arrived together has
   * been read), so the Redis round trip is shared; the count stays exact.
   */
  decide(policy: RateLimitPolicy, req: RequestIdentity): Promise<Decision> {
    const plan = this.#plan(policy);
    const call = this.#callOf(policy, plan, identityOf(policy, req));
    return new Promise<Decision>((resolve, reject) => {
      const n = this.#batch.push({
        policy,
        plan,
        call,
        route: req.route,
        consumer: req.consumer ?? 'anonymous',
        resolve,
        reject,
      });
      if (n === 1) setImmediate(this.#flush);
      else if (n >= MAX_BATCH) this.#flush();
    });
  }

  /** Sends the batch: one script call for every decision in it. */
  readonly #flush = (): void => {
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    const args: (string | number)[] = [0];
    for (const p of batch) for (const k of p.call.scriptKeys) args.push(k);
    args[0] = args.length - 1;
    args.push(batch.length);
    for (const p of batch) for (const a of p.plan.args) args.push(a);
    this.#redis.bwRateLimit(...args).then(
      (reply) => this.#settle(batch, reply),
      (err: unknown) => {
        for (const p of batch) this.#fallback(p, err);
      },
    );
  };

  /** Each decision of a batch from the script's reply (in batch order). */
  #settle(batch: readonly Pending[], reply: readonly number[]): void {
    let at = 0;
    for (const p of batch) {
      const { windows, windowSeconds } = p.plan;
      const allowed = Number(reply[at]) === 1;
      const out: WindowDecision[] = new Array(windows.length);
      for (let i = 0; i < windows.length; i++) {
        out[i] = {
          name: windows[i] as WindowName,
          seconds: windowSeconds[i] as number,
          limit: Number(reply[at + 1 + i * 4]),
          remaining: Number(reply[at + 2 + i * 4]),
          resetMs: Number(reply[at + 3 + i * 4]),
          blocking: Number(reply[at + 4 + i * 4]) === 1,
        };
      }
      at += 1 + windows.length * 4;
      this.#noticeLimits(p.policy, out);
      this.#countDecision(p.route, p.consumer, allowed ? 'allowed' : 'limited');
      p.resolve({ allowed, policy: p.policy, windows: out, source: 'redis' });
    }
  }

  /** Redis failed the batch: each decision fails closed or falls back to this process's count, as its policy says. */
  #fallback(p: Pending, err: unknown): void {
    const { policy, route, consumer } = p;
    if (policy.onRedisDown === 'fail-closed') {
      this.#countDecision(route, consumer, 'fail_closed');
      p.reject(
        new GatewayError('GW_ERR_RATE_LIMIT_UNAVAILABLE', 'Rate limiting is unavailable; try again shortly', {
          cause: err,
          headers: { 'retry-after': '1' },
        }),
      );
      return;
    }
    const eff = this.effectiveLimits(policy);
    const local = this.#local.decide(
      policy.window,
      p.plan.windows.map((w, i) => ({
        name: w,
        seconds: WINDOW_SECONDS[w],
        limit: eff[w] as number,
        key: p.call.keys[i] as string,
      })),
    );
    this.#countDecision(route, consumer, local.allowed ? 'fail_open' : 'limited');
    p.resolve({ allowed: local.allowed, policy, windows: local.windows, source: 'local' });
  }

  /**
   * Sets a live override: validated against the policy's windows, written to
   * Redis (which every gateway's script reads on its next decision), then
   * announced so every process updates its gauges and local fallback.
   */
  async setOverride(policyName: string, limits: LimitOverride): Promise<Limits> {
    const policy = this.#policies.find((p) => p.name === policyName);
    if (!policy) throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `no rate-limit policy "${policyName}"`);
    const problems: string[] = [];
    for (const [w, v] of Object.entries(limits)) {
      if (!(WINDOWS as readonly string[]).includes(w)) problems.push(`limits.${w}: unknown window`);
      else if (policy.limits[w as WindowName] === undefined)
        problems.push(`limits.${w}: policy "${policyName}" has no ${w} window`);
      if (!Number.isInteger(v) || (v as number) <= 0)
        problems.push(`limits.${w}: must be a positive integer`);
    }
    if (Object.keys(limits).length === 0) problems.push('limits: set at least one window');
    const merged = { ...this.effectiveLimits(policy), ...limits };
    problems.push(...windowOrderProblems(merged));
    if (problems.length > 0) throw new GatewayError('GW_ERR_ADMIN_BAD_PAYLOAD', problems.join('; '));
    const fields: string[] = [];
    for (const [w, v] of Object.entries(limits)) fields.push(w, String(v));
    await this.#redis
      .multi()
      .hset(this.overridesKey(policyName), ...fields)
      .publish(this.channel, policyName)
      .exec();
    this.#overrides.set(policyName, { ...this.#overrides.get(policyName), ...limits });
    this.#publishGauges();
    this.#log?.info({ policy: policyName, limits, effective: merged }, 'rate limit changed');
    return merged;
  }

  async clearOverride(policyName: string): Promise<Limits> {
    const policy = this.#policies.find((p) => p.name === policyName);
    if (!policy) throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `no rate-limit policy "${policyName}"`);
    await this.#redis.multi().del(this.overridesKey(policyName)).publish(this.channel, policyName).exec();
    this.#overrides.delete(policyName);
    this.#publishGauges();
    this.#log?.info({ policy: policyName, effective: policy.limits }, 'rate limit override cleared');
    return policy.limits;
  }

  async #refresh(policyName: string): Promise<void> {
    try {
      const h = await this.#redis.hgetall(this.overridesKey(policyName));
      const o: LimitOverride = {};
      for (const w of WINDOWS) if (h[w] !== undefined) o[w] = Number(h[w]);
      if (Object.keys(o).length > 0) this.#overrides.set(policyName, o);
      else this.#overrides.delete(policyName);
      this.#publishGauges();
    } catch {
      // Redis unreachable: keep the last known overrides; the next ready event reloads them.
    }
  }

  async #refreshAll(): Promise<void> {
    await Promise.all(this.#policies.map((p) => this.#refresh(p.name)));
  }

  /** A decision saw a limit we did not know about (an override set elsewhere): update at once. */
  #noticeLimits(policy: RateLimitPolicy, windows: readonly WindowDecision[]): void {
    // The common case, allocation-free: every window's limit is the one we know.
    const known = this.#overrides.get(policy.name);
    let same = true;
    for (const w of windows) {
      const name = w.name as WindowName;
      if ((known?.[name] ?? policy.limits[name]) !== w.limit) {
        same = false;
        break;
      }
    }
    if (same) return;
    const eff = this.effectiveLimits(policy);
    let changed = false;
    const o: LimitOverride = { ...this.#overrides.get(policy.name) };
    for (const w of windows) {
      const name = w.name as WindowName;
      if (eff[name] !== w.limit) {
        changed = true;
        if (policy.limits[name] === w.limit) delete o[name];
        else o[name] = w.limit;
      }
    }
    if (!changed) return;
    if (Object.keys(o).length > 0) this.#overrides.set(policy.name, o);
    else this.#overrides.delete(policy.name);
    this.#publishGauges();
  }

  #publishGauges(): void {
    for (const p of this.#policies) {
      const eff = this.effectiveLimits(p);
      for (const w of WINDOWS) {
        const v = eff[w];
        if (v !== undefined)
          limitGauge().set({ route: p.route ?? '*', consumer: p.consumer ?? '*', window: w }, v);
      }
    }
  }
}

function identityOf(policy: RateLimitPolicy, req: RequestIdentity): string {
  switch (policy.limitBy) {
    case 'consumer':
      return req.consumer !== undefined ? `c:${req.consumer}` : `ip:${req.ip}`;
    case 'ip':
      return `ip:${req.ip}`;
    case 'header': {
      const v = req.header((policy.header as string).toLowerCase());
      return v === undefined || v === '' ? `ip:${req.ip}` : `h:${digest(v)}`;
    }
    case 'path':
      return `p:${digest(req.path)}`;
  }
}

/** Client-chosen strings become fixed-length key parts (no key-space games with huge or odd values). */
function digest(v: string): string {
  return hash('sha256', v, 'base64url').slice(0, 22);
}

/** A longer window may not allow fewer requests than a shorter one (Kong refuses it too). */
export function windowOrderProblems(l: Limits): string[] {
  const out: string[] = [];
  WINDOWS.forEach((shorter, i) => {
    for (const longer of WINDOWS.slice(i + 1)) {
      const a = l[shorter];
      const b = l[longer];
      if (a !== undefined && b !== undefined && b < a)
        out.push(`limits.${longer}: cannot be lower than limits.${shorter}`);
    }
  });
  return out;
}
