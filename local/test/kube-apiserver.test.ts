import { existsSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { describe, expect, it } from 'vitest';
import { startKubeApiServer } from '../src/harness.ts';

/** GET path on the API server, verifying its certificate with the CA it wrote. */
function get(url: string, caFile: string, token?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      url,
      {
        ca: readFileSync(caFile),
        headers: token ? { authorization: `Bearer ${token}` } : {},
        timeout: 5_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

describe('startKubeApiServer', () => {
  it('serves the API to the admin token only, over its own verified certificate, and stop removes it', async () => {
    const kube = await startKubeApiServer();
    try {
      const version = await get(`${kube.url}/version`, kube.caFile, kube.token);
      expect(JSON.parse(version.body).minor).toBe('34');
      const anonymous = await get(`${kube.url}/api/v1/namespaces`, kube.caFile);
      expect(anonymous.status).toBe(403);
      const admin = await get(`${kube.url}/api/v1/namespaces`, kube.caFile, kube.token);
      expect(admin.status).toBe(200);
      expect(readFileSync(kube.kubeconfig, 'utf8')).toContain(kube.url);
    } finally {
      await kube.stop();
    }
    expect(existsSync(kube.etcd.dir)).toBe(false);
    expect(existsSync(kube.apiServer.dir)).toBe(false);
    expect(kube.apiServer.pid).toBeUndefined();
  });
});
