/**
 * The catalog as orders sees it, through the mesh client: reserve (POST,
 * made retryable by the reservation id sent as Idempotency-Key — the catalog
 * is idempotent by that id) and release (DELETE, idempotent).
 */
import {
  createUpstream,
  type Deadline,
  MeshError,
  type Upstream,
  type UpstreamPolicyInput,
  watchEndpointsFile,
} from '@breakwater/mesh';
import type { OrderLine } from '../domain/orders.ts';

/**
 * orders → catalog: short tries, two retries, breaker and bulkhead (see
 * mesh/README.md). All three tries and their backoff (3 × 500 + 25 + 50 =
 * 1 575 ms) fit in the deadline, and the deadline in the gateway's per-try
 * timeout for orders (2 s), so a reservation never outlives the request that
 * asked for it (`npm run lint -- resilience` checks it).
 */
export const CATALOG_POLICY: UpstreamPolicyInput = {
  timeoutMs: 500,
  deadlineMs: 1_700,
  retry: { maxRetries: 2, backoff: { baseMs: 25, capMs: 250 } },
  // Open 200 ms at first, growing to 400 ms, probing a cheap read itself:
  // a recovered catalog takes orders again within a second. Ten failed tries
  // in a row open it too: a frozen catalog trips it in a few per-try timeouts.
  breaker: {
    errorThresholdPct: 50,
    volumeThreshold: 20,
    consecutiveFailures: 10,
    openBaseMs: 200,
    resetTimeoutMs: 400,
    probe: { path: '/products?limit=1', timeoutMs: 500 },
  },
  bulkhead: { maxConcurrent: 32, maxQueue: 64 },
};

export type ReserveOutcome =
  | { ok: true; lines: OrderLine[] }
  | { ok: false; status: number; code: string; detail: string };

export class CatalogClient {
  readonly upstream: Upstream;

  /** `endpointsFile` (local discovery) wins over `baseUrl`: the client balances over the instances it lists. */
  constructor(baseUrl: string, policy: UpstreamPolicyInput = CATALOG_POLICY, endpointsFile?: string) {
    this.upstream = endpointsFile
      ? createUpstream({ name: 'catalog', endpoints: watchEndpointsFile(endpointsFile), policy })
      : createUpstream({ name: 'catalog', baseUrl, policy });
  }

  /** Catalog 4xx answers come back as `ok: false`; unavailability throws a MeshError. */
  async reserve(
    reservationId: string,
    items: readonly { productId: string; quantity: number }[],
    opts: { deadline?: Deadline; signal?: AbortSignal } = {},
  ): Promise<ReserveOutcome> {
    const res = await this.upstream.request({
      method: 'POST',
      path: '/reservations',
      route: '/reservations',
      json: { reservationId, items },
      idempotencyKey: reservationId,
      ...(opts.deadline ? { deadline: opts.deadline } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    if (res.status === 200 || res.status === 201) {
      const body = res.json<{ items: OrderLine[] }>();
      return { ok: true, lines: body.items };
    }
    let problem: { code?: string; detail?: string } = {};
    try {
      problem = res.json();
    } catch {
      // not a problem body
    }
    return {
      ok: false,
      status: res.status,
      code: problem.code ?? `HTTP_${res.status}`,
      detail: problem.detail ?? `catalog answered ${res.status}`,
    };
  }

  /** Gives the reservation's stock back (idempotent at the catalog). Throws when the catalog is unavailable. */
  async release(reservationId: string, signal?: AbortSignal): Promise<void> {
    const res = await this.upstream.request({
      method: 'DELETE',
      path: `/reservations/${encodeURIComponent(reservationId)}`,
      route: '/reservations/:id',
      ...(signal ? { signal } : {}),
    });
    if (res.status !== 204 && res.status !== 200) {
      throw new MeshError('MESH_ERR_UPSTREAM_STATUS', `catalog answered ${res.status} to a release`, {
        upstream: 'catalog',
        upstreamStatus: res.status,
      });
    }
  }

  close(): Promise<void> {
    return this.upstream.close();
  }
}
