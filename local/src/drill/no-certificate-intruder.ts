/**
 * The intruder drill's second persona: a process with no certificate at all
 * calling the services' HTTPS ports (k6 cannot: once it holds a client
 * certificate it presents it to every host). It runs beside k6 for the
 * whole drill, then checks that every attempt got no HTTP answer (the
 * server drops a connection without a mesh certificate before reading a
 * request) and that each was counted in bw_authz_denied_total{source="none"}
 * (Prometheus, read before and after).
 */
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExtraCheck } from './verdict.ts';

export interface NoCertificateTarget {
  method: string;
  url: string;
  body?: string;
}

const EVERY_MS = 250;
const SCRAPE_WAIT_MS = 12_000; // Prometheus scrapes every 5 s: two scrapes after the last attempt

/** One request without a client certificate: 'refused' when no HTTP status came back. */
function attempt(t: NoCertificateTarget): Promise<'refused' | number> {
  return new Promise((resolve) => {
    const req = https.request(
      t.url,
      {
        method: t.method,
        agent: false,
        rejectUnauthorized: false, // the persona does not check the server: what is tested is the server's check
        timeout: 3_000,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve('refused'));
    req.end(t.body);
  });
}

async function deniedWithoutCertificate(prometheusUrl: string): Promise<number> {
  const q = encodeURIComponent('sum(bw_authz_denied_total{source="none"}) or vector(0)');
  const res = await fetch(`${prometheusUrl}/api/v1/query?query=${q}`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { data?: { result?: { value?: [number, string] }[] } };
  const v = body.data?.result?.[0]?.value?.[1];
  if (v === undefined) throw new Error('Prometheus returned no value');
  return Number(v);
}

export interface NoCertificateIntruder {
  /** Stops the attempts, waits for Prometheus to scrape, returns the checks. */
  finish(): Promise<ExtraCheck[]>;
}

/** Starts the attempts now; `finish()` when k6 has exited. */
export function startNoCertificateIntruder(
  targets: readonly NoCertificateTarget[],
  prometheusUrl: string | undefined,
): NoCertificateIntruder {
  const stop = new AbortController();
  const counts = { attempts: 0, refused: 0, answered: [] as number[] };
  const before = prometheusUrl ? deniedWithoutCertificate(prometheusUrl).catch(() => Number.NaN) : undefined;
  const loop = (async () => {
    await before;
    // Bounded by the drill: k6's exit stops it (and at most 20 minutes of attempts).
    for (let i = 0; i < (20 * 60_000) / EVERY_MS && !stop.signal.aborted; i++) {
      for (const t of targets) {
        const r = await attempt(t);
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
          name: 'intruder without a certificate refused',
          value: `${counts.refused} of ${counts.attempts} got no HTTP answer${counts.answered.length ? `; answered: ${[...new Set(counts.answered)].join(', ')}` : ''}`,
          threshold: 'all, and at least one attempt',
          pass: counts.attempts > 0 && counts.refused === counts.attempts,
        },
      ];
      if (prometheusUrl === undefined || before === undefined) {
        checks.push({
          name: 'refusals without a certificate counted',
          value: 'no Prometheus',
          threshold: 'counted',
          pass: false,
        });
        return checks;
      }
      await sleep(SCRAPE_WAIT_MS);
      const delta = (await deniedWithoutCertificate(prometheusUrl).catch(() => Number.NaN)) - (await before);
      checks.push({
        name: 'refusals without a certificate counted',
        value: `bw_authz_denied_total{source="none"} +${delta} for ${counts.attempts} attempts`,
        threshold: '≥ attempts',
        pass: delta >= counts.attempts,
      });
      return checks;
    },
  };
}
