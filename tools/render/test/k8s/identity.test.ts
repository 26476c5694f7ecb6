/**
 * Who does identity in each overlay (tools/render/src/k8s/identity.ts): where
 * Istio runs, the app's own mTLS is off; elsewhere every Node workload gets
 * its certificate from csi-driver-spiffe and serves mTLS itself, with probes
 * and metrics on the plain health port, and Envoy Gateway presents a client
 * certificate the services' authorization accepts. Read from the built
 * overlays, so a component left out or patched in the wrong order fails here.
 */
import { authorizationFor, type SpiffeId, spiffeId } from '@breakwater/mesh/identity';
import { loadPolicy } from '@breakwater/mesh/policy/schema';
import { describe, expect, it } from 'vitest';
import {
  CERT_MANAGER_NAMESPACE,
  HEALTH_PORT,
  ISSUERS,
  SPIFFE_CSI_DRIVER,
  SPIFFE_FILES,
  SPIFFE_MOUNT,
} from '../../src/k8s/identity.ts';
import { NODE_WORKLOADS, urlEnvName } from '../../src/k8s/platform.ts';
import { build, type Manifest, overlayNames } from './manifests.ts';

const policy = loadPolicy();
const ns = policy.namespace;

/** The one setting, as the README's table states it. */
const IDENTITY: Record<string, 'istio' | 'cluster-issuer'> = {
  plain: 'cluster-issuer',
  'envoy-gateway': 'cluster-issuer',
  istio: 'istio',
  kong: 'istio',
  chaos: 'istio',
};

function view(objs: Manifest[]) {
  const find = (kind: string, name: string, namespace?: string) =>
    objs.find(
      (o) =>
        o.kind === kind &&
        o.metadata?.name === name &&
        (namespace === undefined || o.metadata?.namespace === namespace),
    );
  // the Node workloads still running Breakwater's image (Kong takes the gateway's place in kong)
  const nodeDeployments = NODE_WORKLOADS.map((w) => find('Deployment', w.name, ns)).filter(
    (d): d is Manifest =>
      d !== undefined && String(d.spec.template.spec.containers[0].image).startsWith('breakwater/'),
  );
  /** A Deployment's environment from its envFrom ConfigMap (the generated name). */
  const envOf = (d: Manifest): Record<string, string> => {
    const c = d.spec.template.spec.containers[0];
    const ref = c.envFrom.find((e: Manifest) => e.configMapRef)?.configMapRef.name;
    return find('ConfigMap', ref, ns)?.data ?? {};
  };
  return { find, nodeDeployments, envOf };
}

describe('every overlay has exactly one identity mode', () => {
  it('the table names every overlay', () => {
    expect(overlayNames().sort()).toEqual(Object.keys(IDENTITY).sort());
  });
});

describe.each(overlayNames())('overlay %s', (overlay) => {
  const objs = build(`k8s/overlays/${overlay}`);
  const { find, nodeDeployments, envOf } = view(objs);
  const istio = find('Namespace', ns)?.metadata.labels?.['istio-injection'] === 'enabled';

  it(`identity is ${IDENTITY[overlay]}`, () => {
    expect(istio).toBe(IDENTITY[overlay] === 'istio');
    expect(nodeDeployments.length).toBeGreaterThan(0);
  });

  if (IDENTITY[overlay] === 'istio') {
    it("no Node workload serves mTLS itself (BW_MTLS=off) or mounts a SPIFFE volume: the sidecar's job", () => {
      for (const d of nodeDeployments) {
        expect(envOf(d).BW_MTLS, d.metadata.name).toBe('off');
        expect(envOf(d).BW_TLS_DIR, d.metadata.name).toBeUndefined();
        expect(JSON.stringify(d.spec.template.spec.volumes), d.metadata.name).not.toContain(
          SPIFFE_CSI_DRIVER,
        );
      }
      expect(objs.filter((o) => String(o.apiVersion).startsWith('cert-manager.io/'))).toEqual([]);
    });
    return;
  }

  it('every Node workload mounts a csi-driver-spiffe volume where BW_TLS_DIR points, with its file names', () => {
    for (const d of nodeDeployments) {
      const name = d.metadata.name;
      const pod = d.spec.template.spec;
      const vol = pod.volumes.find((v: Manifest) => v.csi?.driver === SPIFFE_CSI_DRIVER);
      expect(vol, name).toBeDefined();
      expect(vol.csi.readOnly).toBe(true);
      // the key must be readable by the non-root user's group
      expect(vol.csi.volumeAttributes[`${SPIFFE_CSI_DRIVER}/fs-group`]).toBe(
        String(pod.securityContext.fsGroup),
      );
      const mount = pod.containers[0].volumeMounts.find((m: Manifest) => m.name === vol.name);
      expect(mount?.mountPath, name).toBe(SPIFFE_MOUNT);
      const env = envOf(d);
      expect(env, name).toMatchObject({
        BW_TLS_DIR: SPIFFE_MOUNT,
        BW_TLS_CERT_FILE: SPIFFE_FILES.cert,
        BW_TLS_KEY_FILE: SPIFFE_FILES.key,
        BW_TLS_CA_FILE: SPIFFE_FILES.ca,
      });
      expect(env.BW_MTLS, name).not.toBe('off');
      // its ServiceAccount is its SPIFFE id: the one the callers' clients expect
      expect(pod.serviceAccountName).toBe(name);
    }
  });

  it('every call to a service goes to https:// (the caller presents its certificate)', () => {
    for (const d of nodeDeployments) {
      const env = envOf(d);
      for (const c of policy.calls[d.metadata.name] ?? [])
        if (policy.workloads[c]?.kind === 'service')
          expect(env[urlEnvName(c)], `${d.metadata.name} -> ${c}`).toMatch(/^https:\/\//);
    }
  });

  it("the mesh servers' probes and metrics use the plain health port (the kubelet and Prometheus hold no mesh certificate)", () => {
    const servers = nodeDeployments.filter((d) => d.metadata.name !== 'gateway');
    expect(servers.length).toBeGreaterThan(0);
    for (const d of servers) {
      const c = d.spec.template.spec.containers[0];
      const health = c.ports.find((p: Manifest) => p.name === 'health');
      expect(health?.containerPort, d.metadata.name).toBe(HEALTH_PORT);
      expect(envOf(d).BW_HEALTH_PORT).toBe(String(HEALTH_PORT));
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe'])
        expect(c[probe].httpGet.port, `${d.metadata.name} ${probe}`).toBe('health');
      expect(d.spec.template.metadata.annotations['prometheus.io/port']).toBe(String(HEALTH_PORT));
    }
    const pm = find('PodMonitor', 'breakwater', ns);
    const ports = pm?.spec.podMetricsEndpoints.map((e: Manifest) => e.port);
    expect(ports).toEqual(['health', 'http']);
    // the plain `http` endpoint is the Node gateway's only: the services' http port is mTLS
    expect(pm?.spec.podMetricsEndpoints[1].relabelings).toEqual([
      {
        sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'],
        regex: 'gateway',
        action: 'keep',
      },
    ]);
    for (const d of servers)
      expect(
        objs.some(
          (o) =>
            o.kind === 'NetworkPolicy' &&
            o.spec.podSelector.matchLabels?.['app.kubernetes.io/name'] === d.metadata.name &&
            o.spec.ingress?.some((r: Manifest) => r.ports?.some((p: Manifest) => p.port === HEALTH_PORT)),
        ),
        `${d.metadata.name}: a NetworkPolicy lets Prometheus reach :${HEALTH_PORT}`,
      ).toBe(true);
  });

  it("has cert-manager's issuers, and every Node workload's account may request its certificate", () => {
    expect(find('ClusterIssuer', ISSUERS.selfSigned)?.spec.selfSigned).toEqual({});
    const ca = find('Certificate', 'breakwater-mesh-ca', CERT_MANAGER_NAMESPACE);
    expect(ca?.spec.isCA).toBe(true);
    for (const name of [ISSUERS.spiffe, ISSUERS.meshCa])
      expect(find('ClusterIssuer', name)?.spec.ca.secretName).toBe(ca?.spec.secretName);
    const binding = find('RoleBinding', 'spiffe-certificate-requests', ns);
    const role = find('Role', binding?.roleRef.name, ns);
    expect(role?.rules).toEqual([
      { apiGroups: ['cert-manager.io'], resources: ['certificaterequests'], verbs: ['create'] },
    ]);
    const subjects = binding?.subjects.map((s: Manifest) => s.name);
    for (const d of nodeDeployments) expect(subjects).toContain(d.spec.template.spec.serviceAccountName);
  });

  if (overlay !== 'envoy-gateway') return;

  it("Envoy Gateway presents a client certificate the services' authorization accepts, and checks their SPIFFE ids", () => {
    const gateway = objs.find((o) => o.kind === 'Gateway');
    const ref = gateway?.spec.infrastructure.parametersRef;
    const proxy = find('EnvoyProxy', ref?.name, gateway?.metadata.namespace);
    const client = proxy?.spec.backendTLS.clientCertificateRef;
    // Envoy Gateway reads an unset namespace as "default"; it must be the EnvoyProxy's own
    expect(client?.namespace).toBe(proxy?.metadata.namespace);
    const cert = objs.find(
      (o) =>
        o.kind === 'Certificate' &&
        o.spec.secretName === client?.name &&
        o.metadata.namespace === client?.namespace,
    );
    expect(cert?.spec.issuerRef.name).toBe(ISSUERS.meshCa);
    const [id] = cert?.spec.uris ?? [];
    const routed = [
      ...new Set(
        objs
          .filter((o) => o.kind === 'HTTPRoute')
          .flatMap((r) =>
            r.spec.rules.flatMap((rule: Manifest) => rule.backendRefs.map((b: Manifest) => b.name)),
          ),
      ),
    ];
    expect(routed.length).toBeGreaterThan(0);
    for (const svc of routed) {
      // what the service's own authorization (mesh/policy.yaml) says to Envoy's certificate: what it
      // says to the gateway's, which Envoy stands in for (the same per-edge rules), on the gateway's routes
      const authz = authorizationFor(policy, svc);
      const requests = [
        ['GET', '/products/sku-0001'],
        ['POST', '/orders'],
        ['GET', '/orders/x'],
        ['GET', '/payments/x'],
        ['GET', '/'],
        ['POST', '/reservations'],
      ] as const;
      const verdicts = (who: SpiffeId) => requests.map(([m, p]) => authz.check(who, m, p) === undefined);
      expect(verdicts(id), svc).toEqual(verdicts(spiffeId('gateway')));
      expect(verdicts(id), svc).toContain(true);
      const btp = objs.find(
        (o) => o.kind === 'BackendTLSPolicy' && o.spec.targetRefs.some((t: Manifest) => t.name === svc),
      );
      expect(btp?.spec.validation.subjectAltNames, svc).toEqual([
        { type: 'URI', uri: spiffeId(svc, ns, policy.trustDomain) },
      ]);
      expect(btp?.spec.validation.caCertificateRefs, svc).toEqual([
        { group: '', kind: 'Secret', name: cert?.spec.secretName },
      ]);
    }
  });
});
