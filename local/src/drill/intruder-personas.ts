/**
 * The intruder drill's personas beside k6 (k6 presents one client
 * certificate to every host, so it plays only one): processes that call the
 * services' HTTPS ports for the whole drill, then check every attempt was
 * refused and counted in bw_authz_denied_total (Prometheus, read before and
 * then until the count is in, or two scrapes later).
 *
 * - Without a certificate: the server drops the connection before reading a
 *   request, so "refused" is no HTTP answer at all; counted as
 *   `source="none"`.
 * - With a workload's own certificate on requests its edge's rules do not
 *   allow (orders → catalog POST /products): 403 `MESH_ERR_FORBIDDEN`;
 *   counted as `source="<its ServiceAccount>"`.
 */
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExtraCheck } from './verdict.ts';

export interface IntruderTarget {
  method: string;
  url: string;
  body?: string;
}

export interface IntruderPersona {
  /** Present this certificate (a workload's own); without it, none. */
  identity?: { serviceAccount: string; cert: Buffer; key: Buffer };
  targets: readonly IntruderTarget[];
}

const EVERY_MS = 250;
const SCRAPE_WAIT_MS = 12_000; // Prometheus scrapes every 5 s: two scrapes after the last attempt, at most
const POLL_MS = 500;

/** One request: 'refused' as the persona expects it (no answer without a certificate, 403 MESH_ERR_FORBIDDEN with one), else the status. */
function attempt(t: IntruderTarget, identity: IntruderPersona['identity']): Promise<'refused' | number> {
  return new Promise((resolve) => {
    const req = https.request(
      t.url,
      {
        method: t.method,
        agent: false,
        rejectUnauthorized: false, // the persona does not check the server: what is tested is the server's check
        timeout: 3_000,
        headers: { 'content-type': 'application/json' },
        ...(identity ? { cert: identity.cert, key: identity.key } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          if (body.length < 4096) body += c;
        });
        res.on('end', () =>
          resolve(
            identity && res.statusCode === 403 && body.includes('MESH_ERR_FORBIDDEN')
              ? 'refused'
              : (res.statusCode ?? 0),
          ),
        );
        res.on('error', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(identity ? 0 : 'refused'));
    req.end(t.body);
  });
}

async function denied(prometheusUrl: string, source: string): Promise<number> {
  const q = encodeURIComponent(`sum(bw_authz_denied_total{source="${source}"}) or vector(0)`);
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${q}`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { data?: { result?: { value?: [number, string] }[] } };
  const v = body.data?.result?.[0]?.value?.[1];
  if (v === undefined) throw new Error('Prometheus returned no value');
  return Number(v);
}

export interface RunningIntruder {
  /** Stops the attempts, waits for Prometheus to scrape, returns the checks. */
  finish(): Promise<ExtraCheck[]>;
}

/** Starts the persona's attempts now; `finish()` when k6 has exited. */
export function startIntruder(persona: IntruderPersona, prometheusUrl: string | undefined): RunningIntruder {
  const { identity, targets } = persona;
  const source = identity?.serviceAccount ?? 'none';
  const who = identity
    ? `intruder with the certificate of ${identity.serviceAccount}, outside its edge's rules,`
    : 'intruder without a certificate';
  const refusedAs = identity ? '403 MESH_ERR_FORBIDDEN' : 'no HTTP answer';
  const stop = new AbortController();
  const counts = { attempts: 0, refused: 0, answered: [] as number[] };
  const before = prometheusUrl ? denied(prometheusUrl, source).catch(() => Number.NaN) : undefined;
  const loop = (async () => {
    await before;
    // Bounded by the drill: k6's exit stops it (and at most 20 minutes of attempts).
    for (let i = 0; i < (20 * 60_000) / EVERY_MS && !stop.signal.aborted; i++) {
      for (const t of targets) {
        const r = await attempt(t, identity);
        counts.attempts++;
        if (r === 'refused') counts.refused++;
        else counts.answered.push(r);
      }
      await sleep(EVERY_MS, undefined, { signal: stop.signal }).catch(() => {});
    }
  })();
  return {
    async finish() {
      stop.abort();
      await loop;
      const checks: ExtraCheck[] = [
        {
          name: `${who} refused`,
          value: `${counts.refused} of ${counts.attempts} got ${refusedAs}${counts.answered.length ? `; answered: ${[...new Set(counts.answered)].join(', ')}` : ''}`,
          threshold: 'all, and at least one attempt',
          pass: counts.attempts > 0 && counts.refused === counts.attempts,
        },
      ];
      const counted = `refusals of the ${who.replace(/,$/, '')} counted`;
      if (prometheusUrl === undefined || before === undefined) {
        checks.push({ name: counted, value: 'no Prometheus', threshold: 'counted', pass: false });
        return checks;
      }
      // Polled: the count is usually in after the next scrape, well before the deadline
      // (the drill's short form has at most 60 s, runner included).
      const start = await before;
      const deadline = Date.now() + SCRAPE_WAIT_MS;
      let delta = Number.NaN;
      for (let i = 0; i < SCRAPE_WAIT_MS / POLL_MS + 1; i++) {
        delta = (await denied(prometheusUrl, source).catch(() => Number.NaN)) - start;
        if (delta >= counts.attempts || Date.now() >= deadline) break;
        await sleep(POLL_MS);
      }
      checks.push({
        name: counted,
        value: `bw_authz_denied_total{source="${source}"} +${delta} for ${counts.attempts} attempts`,
        threshold: '≥ attempts',
        pass: delta >= counts.attempts,
      });
      return checks;
    },
  };
}
