/**
 * Consumer authentication: API keys (`apikey` header) and JWTs
 * (`Authorization: Bearer`), HS256 with a shared secret or RS256/ES256 with a
 * public key from a JWKS file, verified by jose.
 *
 * Like Kong's jwt plugin, the token's `iss` claim names the credential; the
 * credential fixes the one algorithm accepted, so `alg: none`, an HS256 token
 * signed with an RSA public key, or any other algorithm swap is refused
 * before a signature is looked at. Failures say only what a client needs
 * (missing, expired, invalid) — never which check failed.
 */
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CryptoKey, decodeJwt, errors, importJWK, type JWK, jwtVerify } from 'jose';
import type { GatewayConfig, JwtCredential, RouteConfig } from './config.ts';
import { GatewayError } from './errors.ts';

export interface Principal {
  consumer: string;
  /** `key-auth` or `jwt:<credential key>` — for logs, never for clients. */
  credential: string;
}

interface VerifyingKey {
  consumer: string;
  algorithm: JwtCredential['algorithm'];
  key: CryptoKey | Uint8Array;
}

/** The principal, if the route lets its consumer in; 403 otherwise. */
function allowed(route: RouteConfig, principal: Principal): Principal {
  if (route.allowConsumers && !route.allowConsumers.includes(principal.consumer))
    throw new GatewayError('GW_ERR_FORBIDDEN', 'This consumer may not use this route');
  return principal;
}

const WWW_AUTHENTICATE = 'Bearer realm="breakwater", apikey realm="breakwater"';
/** Allowed clock skew when checking exp/nbf (seconds). */
const CLOCK_TOLERANCE_S = 5;

// One-shot hash: no Hash object per request (it showed in profiles of the key-auth path).
const sha256 = (s: string) => hash('sha256', s, 'base64url');

export class Authenticator {
  /** API keys by their SHA-256, so a lookup's timing says nothing about a key's prefix. */
  readonly #apiKeys: Map<string, Principal>;
  readonly #jwt: Map<string, VerifyingKey>;

  private constructor(apiKeys: Map<string, string>, jwt: Map<string, VerifyingKey>) {
    // One frozen principal per key, built once: key-auth allocates nothing per request.
    this.#apiKeys = new Map(
      [...apiKeys].map(([digest, consumer]) => [digest, Object.freeze({ consumer, credential: 'key-auth' })]),
    );
    this.#jwt = jwt;
  }

  static async create(config: GatewayConfig, baseDir: string): Promise<Authenticator> {
    const apiKeys = new Map<string, string>();
    const jwt = new Map<string, VerifyingKey>();
    for (const c of config.consumers) {
      for (const k of c.apiKeys) apiKeys.set(sha256(k), c.name);
      for (const cred of c.jwt) {
        const key =
          cred.algorithm === 'HS256'
            ? new TextEncoder().encode(cred.secret)
            : await importJWK(jwkFromFile(resolve(baseDir, cred.jwks), cred.kid), cred.algorithm);
        jwt.set(cred.key, {
          consumer: c.name,
          algorithm: cred.algorithm,
          key: key as CryptoKey | Uint8Array,
        });
      }
    }
    return new Authenticator(apiKeys, jwt);
  }

  /**
   * The consumer behind a request, `undefined` when it carries no credentials
   * and the route allows anonymous use; throws 401/403 GatewayErrors. Answers
   * synchronously for API keys and anonymous routes (no promise, no microtask
   * per request); a JWT is verified asynchronously (a promise that rejects
   * with the GatewayError).
   */
  authenticate(
    route: RouteConfig,
    apikey: string | undefined,
    authorization: string | undefined,
  ): Principal | undefined | Promise<Principal> {
    if (route.auth === 'none') return undefined;
    if (apikey !== undefined) {
      const principal = this.#apiKeys.get(sha256(apikey));
      if (principal === undefined) throw unauthenticated('Invalid API key');
      return allowed(route, principal);
    }
    if (authorization !== undefined) return this.#verifyBearer(authorization).then((p) => allowed(route, p));
    throw unauthenticated('Credentials required: send an apikey header or a Bearer token');
  }

  async #verifyBearer(authorization: string): Promise<Principal> {
    const m = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/i.exec(authorization.trim());
    if (!m) throw unauthenticated('Invalid token');
    const token = m[1] as string;
    let iss: unknown;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw unauthenticated('Invalid token');
    }
    const cred = typeof iss === 'string' ? this.#jwt.get(iss) : undefined;
    if (!cred) throw unauthenticated('Invalid token');
    try {
      await jwtVerify(token, cred.key, {
        algorithms: [cred.algorithm],
        requiredClaims: ['exp'],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw unauthenticated('Token expired');
      throw unauthenticated('Invalid token', err);
    }
    return { consumer: cred.consumer, credential: `jwt:${iss as string}` };
  }
}

function unauthenticated(detail: string, cause?: unknown): GatewayError {
  return new GatewayError('GW_ERR_UNAUTHENTICATED', detail, {
    cause,
    headers: { 'www-authenticate': WWW_AUTHENTICATE },
  });
}

export function jwkFromFile(file: string, kid: string): JWK {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { keys?: JWK[] };
  const jwk = doc.keys?.find((k) => k.kid === kid);
  if (!jwk) throw new Error(`${file}: no key with kid "${kid}"`);
  return jwk;
}
