/**
 * Policy normalisation per call: the call options checked once at the door,
 * and the retry fields a call decides with — the policy's, or a per-call
 * override merged over them (validated unless frozen, cached per frozen
 * override so a gateway route that passes the same one pays nothing).
 */
import { MeshError } from '../errors.ts';
import { formatIssues, type RetryOverride, RetryOverrideSchema, type UpstreamPolicy } from '../policy.ts';
import type { CallOptions } from './types.ts';

/** The retry fields a call decides with. */
export interface RetryView {
  readonly maxRetries: number;
  readonly statuses: readonly number[];
  readonly onConnectError: boolean;
  readonly onTimeout: boolean;
}

/** Refuses malformed call options with MESH_ERR_INVALID_REQUEST (the upstream is never called). */
export function checkCallOptions(name: string, o: CallOptions): void {
  if (o === null || typeof o !== 'object' || typeof o.path !== 'string' || o.path[0] !== '/') {
    throw new MeshError('MESH_ERR_INVALID_REQUEST', `${name}: request path must start with "/"`, {
      upstream: name,
    });
  }
  if (o.json !== undefined && o.body !== undefined) {
    throw new MeshError('MESH_ERR_INVALID_REQUEST', `${name}: give json or body, not both`, {
      upstream: name,
    });
  }
}

export class RetryViews {
  readonly #name: string;
  readonly #policy: UpstreamPolicy['retry'];
  /** Merged retry views per frozen override object (a gateway route passes the same one every call). */
  readonly #cache = new WeakMap<RetryOverride, RetryView>();

  constructor(name: string, policy: UpstreamPolicy['retry']) {
    this.#name = name;
    this.#policy = policy;
  }

  /** The policy's retry fields with `override` on top; an unfrozen override is validated first. */
  of(override: RetryOverride | undefined): RetryView {
    if (override === undefined) return this.#policy;
    const cached = this.#cache.get(override);
    if (cached) return cached;
    const frozen = Object.isFrozen(override);
    const ov = frozen ? override : this.#validate(override);
    const p = this.#policy;
    const view: RetryView = Object.freeze({
      maxRetries: ov.maxRetries ?? p.maxRetries,
      statuses: ov.statuses ?? p.statuses,
      onConnectError: ov.onConnectError ?? p.onConnectError,
      onTimeout: ov.onTimeout ?? p.onTimeout,
    });
    if (frozen) this.#cache.set(override, view);
    return view;
  }

  #validate(override: RetryOverride): RetryOverride {
    const r = RetryOverrideSchema.safeParse(override);
    if (!r.success) {
      throw new MeshError(
        'MESH_ERR_INVALID_REQUEST',
        `${this.#name}: invalid retry override: ${formatIssues('retry', r.error)}`,
        { upstream: this.#name },
      );
    }
    return r.data;
  }
}
