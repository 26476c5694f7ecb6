/**
 * Who gives the services their identity on a cluster — the one setting is
 * which `identity-*` component an overlay includes (k8s/README.md has the
 * table):
 *
 * - `identity-istio` (istio, kong, chaos): Istio's sidecars do mTLS and
 *   authorization (PeerAuthentication STRICT, AuthorizationPolicies from
 *   mesh/policy.yaml); the app speaks plain HTTP to its sidecar
 *   (`BW_MTLS=off`), since TLS inside the app would hide requests from the
 *   sidecar's routing, retries and path rules.
 * - `identity-cluster-issuer` (plain, envoy-gateway): every Node workload
 *   mounts a cert-manager csi-driver-spiffe volume; the driver writes a
 *   certificate for the Pod's ServiceAccount
 *   (`spiffe://cluster.local/ns/breakwater/sa/<sa>`, what Istio would
 *   give it) and renews it, and the app serves and calls mTLS itself
 *   (mesh/src/identity), enforcing mesh/policy.yaml. Callers that hold no
 *   mesh certificate — the kubelet's probes and Prometheus — use the plain
 *   health port (`BW_HEALTH_PORT`: /health/*, /metrics only), as they use
 *   the sidecar's ports under Istio.
 *
 * Issuing: a self-signed ClusterIssuer signs the mesh CA (a Certificate in
 * cert-manager's namespace, where a ClusterIssuer's CA Secret must be); two
 * ClusterIssuers sign with it: `breakwater-spiffe` for csi-driver-spiffe,
 * whose requests only its approver may approve (cert-manager's own approver
 * is told to leave that signer alone: otherwise anyone who may create a
 * CertificateRequest could mint any SPIFFE id), and `breakwater-mesh-ca` for
 * Certificates (Envoy Gateway's client certificate).
 */
import { spiffeId } from '@breakwater/mesh/identity/spiffe';
import type { MeshPolicy } from '@breakwater/mesh/policy/schema';
import type { ICertificate, IClusterIssuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import type { IEnvoyProxy } from '@kubernetes-models/envoy-gateway/gateway.envoyproxy.io/v1alpha1';
import type { IBackendTLSPolicy } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1';
import type { IRole, IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1';
import { scrapePortPolicies } from '../policy/network-policies.ts';
import { HTTP_SERVICE_PORT, NODE_WORKLOADS, urlEnvName } from './platform.ts';

/** csi-driver-spiffe's CSI driver name (its Helm chart's `app.name`). */
export const SPIFFE_CSI_DRIVER = 'spiffe.csi.cert-manager.io';
/** Where the volume is mounted; the app's BW_TLS_DIR. */
export const SPIFFE_MOUNT = '/var/run/secrets/spiffe.io';
/** The names csi-driver-spiffe writes (its defaults: app.driver.volumeFileName). */
export const SPIFFE_FILES = { cert: 'tls.crt', key: 'tls.key', ca: 'ca.crt' } as const;
/** The plain health port of every mesh server (BW_HEALTH_PORT): /health/*, /metrics. */
export const HEALTH_PORT = 9090;
/** The Node workloads' group (distroless nonroot): the key is written readable by it. */
const NODE_GID = 65532;

export const ISSUERS = {
  selfSigned: 'breakwater-selfsigned',
  /** Signs csi-driver-spiffe's requests; approved only by csi-driver-spiffe-approver. */
  spiffe: 'breakwater-spiffe',
  /** Signs Certificates (Envoy Gateway's client certificate); approved by cert-manager. */
  meshCa: 'breakwater-mesh-ca',
} as const;
/** cert-manager's namespace: a ClusterIssuer's CA Secret lives there (its cluster resource namespace). */
export const CERT_MANAGER_NAMESPACE = 'cert-manager';
/** The mesh CA's Certificate and Secret (cert-manager namespace); csi-driver-spiffe mounts its ca.crt. */
export const MESH_CA_SECRET = 'breakwater-mesh-ca';

const PART_OF = { 'app.kubernetes.io/part-of': 'breakwater' };
export const IDENTITY_SOURCE = 'tools/render/src/k8s/identity.ts';

/** Istio does identity: the app's own mTLS stays off even if someone sets BW_TLS_DIR. */
export function renderIstioIdentityComponent(): object {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1alpha1',
    kind: 'Component',
    configMapGenerator: NODE_WORKLOADS.map((w) => ({
      name: `${w.name}-env`,
      behavior: 'merge',
      literals: ['BW_MTLS=off'],
    })),
  };
}

/** The environment a Node workload gets on top of the base's under the cluster issuer. */
export function clusterIssuerEnv(policy: MeshPolicy, workload: string): Record<string, string> {
  const env: Record<string, string> = {
    BW_MTLS: 'on',
    BW_TLS_DIR: SPIFFE_MOUNT,
    BW_TLS_CERT_FILE: SPIFFE_FILES.cert,
    BW_TLS_KEY_FILE: SPIFFE_FILES.key,
    BW_TLS_CA_FILE: SPIFFE_FILES.ca,
  };
  // the Node gateway's own listener is the public edge (plain HTTP); only the mesh servers get a health port
  if (workload !== 'gateway') env.BW_HEALTH_PORT = String(HEALTH_PORT);
  for (const c of policy.calls[workload] ?? [])
    if (policy.workloads[c]?.kind === 'service') env[urlEnvName(c)] = `https://${c}:${HTTP_SERVICE_PORT}`;
  return env;
}

type Op = { op: 'add' | 'replace'; path: string; value: unknown };

/** JSON patches of one Node workload's Deployment: the CSI volume, and for mesh servers the health port. */
function deploymentOps(workload: string): Op[] {
  const pod = '/spec/template/spec';
  const ops: Op[] = [
    {
      op: 'add',
      path: `${pod}/volumes/-`,
      value: {
        name: 'spiffe',
        csi: {
          driver: SPIFFE_CSI_DRIVER,
          readOnly: true,
          // the key is written 0640 for this group, so the non-root app can read it
          volumeAttributes: { [`${SPIFFE_CSI_DRIVER}/fs-group`]: String(NODE_GID) },
        },
      },
    },
    {
      op: 'add',
      path: `${pod}/containers/0/volumeMounts/-`,
      value: { name: 'spiffe', mountPath: SPIFFE_MOUNT, readOnly: true },
    },
  ];
  if (workload === 'gateway') return ops;
  ops.push(
    {
      op: 'add',
      path: `${pod}/containers/0/ports/-`,
      value: { name: 'health', containerPort: HEALTH_PORT, protocol: 'TCP' },
    },
    // the kubelet presents no client certificate: probes go to the plain health port
    ...['startupProbe', 'livenessProbe', 'readinessProbe'].map(
      (probe): Op => ({
        op: 'replace',
        path: `${pod}/containers/0/${probe}/httpGet/port`,
        value: 'health',
      }),
    ),
    {
      op: 'replace',
      path: '/spec/template/metadata/annotations/prometheus.io~1port',
      value: String(HEALTH_PORT),
    },
  );
  return ops;
}

const stringifyOps = (ops: Op[]) => JSON.stringify(ops);

/** The component's kustomization: env merges, Deployment and PodMonitor patches, its resources. */
export function renderClusterIssuerComponent(policy: MeshPolicy): object {
  return {
    apiVersion: 'kustomize.config.k8s.io/v1alpha1',
    kind: 'Component',
    resources: ['issuers.yaml', 'rbac.yaml', 'network-policies.yaml'],
    configMapGenerator: NODE_WORKLOADS.map((w) => ({
      name: `${w.name}-env`,
      behavior: 'merge',
      literals: Object.entries(clusterIssuerEnv(policy, w.name)).map(([k, v]) => `${k}=${v}`),
    })),
    patches: [
      ...NODE_WORKLOADS.map((w) => ({
        target: { kind: 'Deployment', name: w.name },
        patch: stringifyOps(deploymentOps(w.name)),
      })),
      // Prometheus holds no mesh certificate: the mesh servers' metrics come from their
      // health port; the Node gateway's listener is plain, so its metrics stay on `http`
      {
        target: { kind: 'PodMonitor', name: 'breakwater' },
        patch: stringifyOps([
          {
            op: 'replace',
            path: '/spec/podMetricsEndpoints',
            value: [
              { port: 'health', path: '/metrics', interval: '15s' },
              {
                port: 'http',
                path: '/metrics',
                interval: '15s',
                relabelings: [
                  {
                    sourceLabels: ['__meta_kubernetes_pod_label_app_kubernetes_io_name'],
                    regex: 'gateway',
                    action: 'keep',
                  },
                ],
              },
            ],
          },
        ]),
      },
    ],
  };
}

/** The self-signed root, the mesh CA it signs, and the two issuers that sign with it. */
export function renderIssuers(): object[] {
  const selfSigned: IClusterIssuer = {
    apiVersion: 'cert-manager.io/v1',
    kind: 'ClusterIssuer',
    metadata: { name: ISSUERS.selfSigned, labels: PART_OF },
    spec: { selfSigned: {} },
  };
  const ca: ICertificate = {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: MESH_CA_SECRET, namespace: CERT_MANAGER_NAMESPACE, labels: PART_OF },
    spec: {
      isCA: true,
      commonName: 'breakwater mesh CA',
      secretName: MESH_CA_SECRET,
      duration: '8760h', // 1 year; cert-manager renews it a third before expiry
      privateKey: { algorithm: 'ECDSA', size: 256 },
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: ISSUERS.selfSigned },
    },
  };
  const signer = (name: string): IClusterIssuer => ({
    apiVersion: 'cert-manager.io/v1',
    kind: 'ClusterIssuer',
    metadata: { name, labels: PART_OF },
    spec: { ca: { secretName: MESH_CA_SECRET } },
  });
  return [selfSigned, ca, signer(ISSUERS.spiffe), signer(ISSUERS.meshCa)];
}

/**
 * csi-driver-spiffe creates each Pod's CertificateRequest as the Pod's
 * ServiceAccount (CSI token request), so each Node workload's account may
 * create CertificateRequests here — nothing else.
 */
export function renderSpiffeRbac(policy: MeshPolicy): object[] {
  const role: IRole = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'spiffe-certificate-requests', namespace: policy.namespace, labels: PART_OF },
    rules: [{ apiGroups: ['cert-manager.io'], resources: ['certificaterequests'], verbs: ['create'] }],
  };
  const binding: IRoleBinding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'spiffe-certificate-requests', namespace: policy.namespace, labels: PART_OF },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.metadata?.name ?? '' },
    subjects: NODE_WORKLOADS.map((w) => ({
      kind: 'ServiceAccount',
      name: w.name,
      namespace: policy.namespace,
    })),
  };
  return [role, binding];
}

/** Scrapers reach the mesh servers' health port (metrics there, outside mTLS). */
export function renderHealthPortPolicies(policy: MeshPolicy) {
  return scrapePortPolicies(policy, HEALTH_PORT, 'health-metrics');
}

/** Envoy Gateway's proxy: its EnvoyProxy (the Gateway's parametersRef) and client certificate. */
export const ENVOY_PROXY = 'breakwater';
export const ENVOY_CLIENT_SECRET = 'envoy-gateway-client-tls';

/**
 * Envoy Gateway's proxies → the services under the cluster issuer: an
 * EnvoyProxy presenting a client certificate (a Certificate from
 * `breakwater-mesh-ca` carrying the SPIFFE id mesh/policy.yaml gives the
 * external caller `envoy-gateway`, which stands in for the gateway), and a
 * BackendTLSPolicy per upstream Service checking the server's SPIFFE id
 * against the mesh CA (the same Secret's ca.crt).
 */
export function renderEnvoyGatewayBackendTls(policy: MeshPolicy, gatewayNamespace: string): object[] {
  const ext = policy.external['envoy-gateway'];
  if (ext?.serviceAccount === undefined || ext.standsInFor === undefined)
    throw new Error('mesh/policy.yaml: external envoy-gateway needs serviceAccount and standsInFor');
  const id = spiffeId(ext.serviceAccount, ext.namespace, policy.trustDomain);
  const certificate: ICertificate = {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: ENVOY_CLIENT_SECRET, namespace: gatewayNamespace, labels: PART_OF },
    spec: {
      secretName: ENVOY_CLIENT_SECRET,
      uris: [id],
      usages: ['digital signature', 'client auth'],
      duration: '24h',
      renewBefore: '8h',
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
      issuerRef: { group: 'cert-manager.io', kind: 'ClusterIssuer', name: ISSUERS.meshCa },
    },
  };
  const proxy: IEnvoyProxy = {
    apiVersion: 'gateway.envoyproxy.io/v1alpha1',
    kind: 'EnvoyProxy',
    metadata: { name: ENVOY_PROXY, namespace: gatewayNamespace, labels: PART_OF },
    spec: {
      backendTLS: {
        // the namespace must be given: Envoy Gateway reads an unset one as "default"
        clientCertificateRef: {
          group: '',
          kind: 'Secret',
          name: ENVOY_CLIENT_SECRET,
          namespace: gatewayNamespace,
        },
      },
    },
  };
  const upstreams = (policy.calls[ext.standsInFor] ?? []).filter(
    (c) => policy.workloads[c]?.kind === 'service',
  );
  const policies = upstreams.map(
    (svc): IBackendTLSPolicy => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'BackendTLSPolicy',
      metadata: { name: svc, namespace: policy.namespace, labels: PART_OF },
      spec: {
        targetRefs: [{ group: '', kind: 'Service', name: svc }],
        validation: {
          caCertificateRefs: [{ group: '', kind: 'Secret', name: ENVOY_CLIENT_SECRET }],
          // SNI only: the certificate names no host; it is checked by its SPIFFE id
          hostname: `${svc}.${policy.namespace}.svc.cluster.local`,
          subjectAltNames: [{ type: 'URI', uri: spiffeId(svc, policy.namespace, policy.trustDomain) }],
        },
      },
    }),
  );
  return [certificate, proxy, ...policies];
}
