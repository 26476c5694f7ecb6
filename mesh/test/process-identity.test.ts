/**
 * The identity a process reads from its environment: the file names inside
 * BW_TLS_DIR (csi-driver-spiffe writes tls.crt, tls.key, ca.crt; the local
 * CA cert.pem, key.pem, ca.pem) and BW_HEALTH_PORT, validated at start-up
 * naming the variable.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MeshError } from '../src/errors.ts';
import { createRootCa, type RootCa } from '../src/identity/issuer.ts';
import { identityFiles, processIdentity } from '../src/identity/process-identity.ts';
import { spiffeId } from '../src/identity/spiffe.ts';
import { DEFAULT_IDENTITY_FILES } from '../src/identity/workload-identity.ts';
import { healthFromEnv } from '../src/server/settings.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'bw-process-identity-'));
let ca: RootCa;

beforeAll(async () => {
  ca = await createRootCa();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function thrown(f: () => unknown): MeshError {
  try {
    f();
  } catch (err) {
    return err as MeshError;
  }
  throw new Error('did not throw');
}

describe('identityFiles', () => {
  it('defaults to the local CA names', () => {
    expect(identityFiles({})).toEqual(DEFAULT_IDENTITY_FILES);
  });

  it('takes csi-driver-spiffe names from BW_TLS_{CERT,KEY,CA}_FILE', () => {
    expect(
      identityFiles({ BW_TLS_CERT_FILE: 'tls.crt', BW_TLS_KEY_FILE: 'tls.key', BW_TLS_CA_FILE: 'ca.crt' }),
    ).toEqual({ cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' });
  });

  it.each([
    ['BW_TLS_CERT_FILE', '../etc/tls.crt'],
    ['BW_TLS_KEY_FILE', '/abs/tls.key'],
    ['BW_TLS_CA_FILE', ''],
    ['BW_TLS_CA_FILE', '..'],
  ])('refuses %s=%j, naming the variable', (variable, value) => {
    const err = thrown(() => identityFiles({ [variable]: value }));
    expect(err.code).toBe('MESH_ERR_IDENTITY');
    expect(err.message).toContain(`${variable}: must be a file name inside BW_TLS_DIR`);
  });

  it('refuses two roles in one file, naming both variables', () => {
    const err = thrown(() => identityFiles({ BW_TLS_KEY_FILE: 'cert.pem' }));
    expect(err.code).toBe('MESH_ERR_IDENTITY');
    expect(err.message).toMatch(/BW_TLS_CERT_FILE: "cert.pem" is also BW_TLS_KEY_FILE/);
  });
});

describe('processIdentity', () => {
  it('reads a folder laid out as csi-driver-spiffe writes it', async () => {
    const dir = path.join(tmp, 'spiffe');
    const leaf = await ca.issue(spiffeId('catalog'), 3_600_000);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'tls.crt'), leaf.cert);
    writeFileSync(path.join(dir, 'tls.key'), leaf.key);
    writeFileSync(path.join(dir, 'ca.crt'), ca.cert);
    const identity = processIdentity({
      BW_TLS_DIR: dir,
      BW_TLS_CERT_FILE: 'tls.crt',
      BW_TLS_KEY_FILE: 'tls.key',
      BW_TLS_CA_FILE: 'ca.crt',
    });
    try {
      expect(identity?.id).toBe('spiffe://cluster.local/ns/breakwater/sa/catalog');
    } finally {
      identity?.close();
    }
  });

  it('names the missing file when the names do not match the folder', async () => {
    const dir = path.join(tmp, 'spiffe');
    const err = thrown(() => processIdentity({ BW_TLS_DIR: dir }));
    expect(err.code).toBe('MESH_ERR_IDENTITY');
    expect(err.message).toContain(path.join(dir, 'cert.pem'));
  });

  it('has none with BW_MTLS=off (the Istio overlays), whatever BW_TLS_DIR says', () => {
    expect(processIdentity({ BW_TLS_DIR: path.join(tmp, 'nowhere'), BW_MTLS: 'off' })).toBeUndefined();
  });
});

describe('healthFromEnv', () => {
  it('reads BW_HEALTH_PORT; unset means no health port', () => {
    expect(healthFromEnv({ BW_HEALTH_PORT: '9090' })).toEqual({ health: { port: 9090 } });
    expect(healthFromEnv({})).toEqual({});
  });

  it('refuses a bad port, naming the variable', () => {
    const err = thrown(() => healthFromEnv({ BW_HEALTH_PORT: '70000' }));
    expect(err.code).toBe('MESH_ERR_INVALID_POLICY');
    expect(err.message).toContain('BW_HEALTH_PORT: must be a port');
  });
});
