/**
 * Workload identity and authorization (`@breakwater/mesh/identity`):
 *
 * | file | role |
 * |---|---|
 * | spiffe.ts | SPIFFE ids as Istio gives them; reading them from certificates |
 * | workload-identity.ts | a process's certificate folder, watched for rotation; the writer issuers use |
 * | process-identity.ts | the identity from BW_TLS_DIR / BW_MTLS |
 * | server-tls.ts | the HTTPS server requiring a mesh client certificate; refusals logged with the failed check |
 * | client-tls.ts | the undici connector presenting the certificate and checking the server's SPIFFE id |
 * | authorization.ts | mesh/policy.yaml enforced per request (403 MESH_ERR_FORBIDDEN) |
 *
 * Building certificates (issuer.ts, @peculiar/x509) is its own entry,
 * `@breakwater/mesh/identity/issuer`, so that services never load it.
 */
export * from './authorization.ts';
export * from './client-tls.ts';
export * from './process-identity.ts';
export * from './server-tls.ts';
export * from './spiffe.ts';
export * from './workload-identity.ts';
