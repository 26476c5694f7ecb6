/**
 * Mints JWTs for the development consumers in gateway.yaml (`cli.ts token`).
 * HS256 uses the consumer's (fake) shared secret; RS256/ES256 use the fake
 * private keys in gateway/dev-keys/<kid>.private.jwk.json. Dev only: a real
 * deployment has neither the secrets nor the private keys in the repo.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { importJWK, type JWK, SignJWT } from 'jose';
import type { GatewayConfig, JwtCredential } from './config.ts';

export interface MintOptions {
  algorithm?: JwtCredential['algorithm'];
  /** Lifetime in seconds; default 3600 (1 h). */
  ttlSeconds?: number;
}

export async function mintDevToken(
  config: GatewayConfig,
  baseDir: string,
  consumerName: string,
  opts: MintOptions = {},
): Promise<string> {
  const consumer = config.consumers.find((c) => c.name === consumerName);
  if (!consumer) throw new Error(`no consumer "${consumerName}" in gateway.yaml`);
  const cred = consumer.jwt.find((c) => opts.algorithm === undefined || c.algorithm === opts.algorithm);
  if (!cred)
    throw new Error(
      `consumer "${consumerName}" has no ${opts.algorithm ?? ''} JWT credential`.replace('  ', ' '),
    );
  const ttl = opts.ttlSeconds ?? 3600;
  const jwt = new SignJWT({ sub: consumerName })
    .setIssuer(cred.key)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + ttl);
  if (cred.algorithm === 'HS256') {
    return jwt.setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(cred.secret));
  }
  const file = resolve(dirname(resolve(baseDir, cred.jwks)), `${cred.kid}.private.jwk.json`);
  const jwk = JSON.parse(readFileSync(file, 'utf8')) as JWK & { _comment?: string };
  delete jwk._comment;
  const key = await importJWK(jwk, cred.algorithm);
  return jwt.setProtectedHeader({ alg: cred.algorithm, kid: cred.kid, typ: 'JWT' }).sign(key);
}
