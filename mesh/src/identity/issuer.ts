/**
 * Building certificates (a mesh CA's root and its workload leaves) with
 * @peculiar/x509 over Node's WebCrypto; Node's tls does the handshakes.
 * ECDSA P-256 keys: a handshake costs a fraction of RSA's, which matters
 * when a drill rotates every minute under load.
 *
 * A leaf is what Istio's CA issues: no subject name worth reading, exactly
 * one URI SAN (the SPIFFE id), digitalSignature + keyEncipherment, usable
 * as client and server (mTLS), valid from a minute ago (clock skew) for
 * `lifetimeMs`. Only the run-time side (files, renewal, refusal) lives in
 * local/ (the supervisor's certificate authority).
 */
import { webcrypto } from 'node:crypto';
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import type { SpiffeId } from './spiffe.ts';

type Key = webcrypto.CryptoKey;
type KeyPair = webcrypto.CryptoKeyPair;
// @peculiar/x509's types name the DOM's Crypto; Node's webcrypto is that object.
type DomCrypto = Parameters<typeof x509.cryptoProvider.set>[0];
x509.cryptoProvider.set(webcrypto as unknown as DomCrypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SKEW_MS = 60_000; // valid from a minute ago: clocks of two processes on one host agree, on a cluster they may not

export interface IssuedPem {
  /** PEM certificate. */
  readonly cert: string;
  /** PEM PKCS#8 private key. */
  readonly key: string;
  readonly notAfter: Date;
}

export interface RootCa extends IssuedPem {
  /** Issues a leaf for `id` valid for `lifetimeMs` (from `now`, default the current time). */
  issue(id: SpiffeId, lifetimeMs: number, now?: number): Promise<IssuedPem>;
}

function serial(): string {
  // A positive 16-byte serial (RFC 5280: at most 20 octets, positive).
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0] as number) & 0x7f;
  return Buffer.from(b).toString('hex');
}

async function pemKey(key: Key): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

async function rootFrom(cert: x509.X509Certificate, keys: KeyPair, keyPem: string): Promise<RootCa> {
  const issue = async (id: SpiffeId, lifetimeMs: number, now = Date.now()): Promise<IssuedPem> => {
    const leafKeys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair;
    const notAfter = new Date(now + lifetimeMs);
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: 'O=breakwater',
      issuer: cert.subject,
      notBefore: new Date(now - SKEW_MS),
      notAfter,
      signingAlgorithm: ALG,
      publicKey: leafKeys.publicKey,
      signingKey: keys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension([
          x509.ExtendedKeyUsage.serverAuth,
          x509.ExtendedKeyUsage.clientAuth,
        ]),
        new x509.SubjectAlternativeNameExtension([{ type: 'url', value: id }], true),
        await x509.AuthorityKeyIdentifierExtension.create(cert),
      ],
    });
    return { cert: leaf.toString('pem'), key: await pemKey(leafKeys.privateKey), notAfter };
  };
  return { cert: cert.toString('pem'), key: keyPem, notAfter: cert.notAfter, issue };
}

/** A new self-signed root valid for `lifetimeMs` (a run's root: default 7 days). */
export async function createRootCa(
  o: { name?: string; lifetimeMs?: number; now?: number } = {},
): Promise<RootCa> {
  const now = o.now ?? Date.now();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as KeyPair;
  const name = `CN=${o.name ?? 'breakwater mesh root'}, O=breakwater`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(now - SKEW_MS),
    notAfter: new Date(now + (o.lifetimeMs ?? 7 * 24 * 3_600_000)),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return rootFrom(cert, keys, await pemKey(keys.privateKey));
}

/** The root of an earlier run's files (a supervisor that restarts keeps its CA). */
export async function loadRootCa(certPem: string, keyPem: string): Promise<RootCa> {
  const cert = new x509.X509Certificate(certPem);
  const der = x509.PemConverter.decode(keyPem)[0] as ArrayBuffer;
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ALG, true, ['sign']);
  const publicKey = await cert.publicKey.export(ALG, ['verify'], webcrypto as unknown as DomCrypto);
  return rootFrom(cert, { privateKey, publicKey } as KeyPair, keyPem);
}
