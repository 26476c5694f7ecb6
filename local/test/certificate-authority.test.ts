import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkloadIdentity } from '@breakwater/mesh/identity';
import { afterAll, describe, expect, it } from 'vitest';
import { CertificateAuthority, PROMETHEUS_IDENTITY } from '../src/certificate-authority.ts';
import { isLocalError } from '../src/errors.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bw-ca-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Resolves when `predicate()` is true; rejects after `timeoutMs`. */
async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const certOf = (dir: string) => new X509Certificate(readFileSync(path.join(dir, 'cert.pem')));

describe('CertificateAuthority', () => {
  it('issues SPIFFE certificates chained to a fresh root kept in the run folder', async () => {
    const ca = await CertificateAuthority.start({ dir: path.join(tmp, 'a') });
    try {
      const dir = await ca.issue('catalog-2', 'catalog');
      const root = new X509Certificate(readFileSync(ca.caFile));
      const leaf = certOf(dir);
      expect(leaf.subjectAltName).toBe('URI:spiffe://cluster.local/ns/breakwater/sa/catalog');
      expect(leaf.verify(root.publicKey)).toBe(true);
      expect(leaf.ca).toBe(false);
      expect(Date.parse(leaf.validTo) - Date.now()).toBeGreaterThan(3_500_000); // 1 h by default
      expect(new WorkloadIdentity(dir, { watch: false }).id).toBe(
        'spiffe://cluster.local/ns/breakwater/sa/catalog',
      );
      const prom = certOf(await ca.issue('prometheus', PROMETHEUS_IDENTITY));
      expect(prom.subjectAltName).toBe(`URI:${PROMETHEUS_IDENTITY}`);
    } finally {
      ca.close();
    }
  });

  it('renews at half-life; refuses one identity on demand and renews it at once when allowed again', async () => {
    const lines: string[] = [];
    const ca = await CertificateAuthority.start({
      dir: path.join(tmp, 'b'),
      lifetimeMs: 10_000,
      log: (l) => lines.push(l),
    });
    try {
      const orders = await ca.issue('orders', 'orders');
      const catalog = await ca.issue('catalog', 'catalog');
      const first = { orders: certOf(orders).serialNumber, catalog: certOf(catalog).serialNumber };
      ca.refuse('catalog');
      await until(() => certOf(orders).serialNumber !== first.orders, 8_000); // renewed at ~5 s
      await until(() => lines.some((l) => l.includes('refused to renew catalog')), 2_000);
      expect(certOf(catalog).serialNumber).toBe(first.catalog);
      expect(ca.status().find((s) => s.name === 'catalog')?.refused).toBe(true);
      ca.refuse('catalog', false);
      await until(() => certOf(catalog).serialNumber !== first.catalog, 2_000);
    } finally {
      ca.close();
    }
  });

  it('refuses bad input naming what is wrong', async () => {
    const err = await CertificateAuthority.start({ dir: path.join(tmp, 'c'), lifetimeMs: 5 }).catch((e) => e);
    expect(isLocalError(err, 'LOCAL_ERR_BAD_INPUT')).toBe(true);
    expect((err as Error).message).toContain('certificate lifetime');
    const ca = await CertificateAuthority.start({ dir: path.join(tmp, 'd') });
    try {
      expect(() => ca.refuse('nobody')).toThrow(
        /no process holds spiffe:\/\/cluster.local\/ns\/breakwater\/sa\/nobody/,
      );
    } finally {
      ca.close();
    }
  });
});
