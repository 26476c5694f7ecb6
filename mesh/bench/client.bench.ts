/**
 * The mesh client against a raw undici Pool, side by side in one run:
 * the same 20,000 GETs to one loopback upstream at the same concurrency,
 * after a warm-up, alternating raw and mesh over several rounds so that
 * neither gets the warmer machine. Prints throughput of each, the ratio
 * (target: mesh ≥ 85 % of raw) and the latency the mesh adds at p50/p99.
 * A fourth row, `mesh3`, is the same client over three endpoints (three
 * ports of the same upstream process; balancing with least_request and
 * outlier detection on): target ≥ 95 % of the single-endpoint mesh row,
 * which pays neither (its fast path). A fifth row, `mtls`, is the
 * single-endpoint mesh client over mutual TLS (its own certificate, the
 * server's SPIFFE id checked; keep-alive, so a connection's handshake is paid
 * once): target ≥ 90 % of the plaintext `mesh` row.
 *
 * The upstream is nginx (one worker, `return 200`) when installed, so that
 * the client side is the bottleneck; otherwise a Node server in a child
 * process. Usage: node mesh/bench/client.bench.ts [calls] [concurrency] [rounds]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { subscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Pool } from 'undici';
import { createUpstream } from '../src/client/index.ts';
import { createRootCa } from '../src/identity/issuer.ts';
import { spiffeId } from '../src/identity/spiffe.ts';
import {
  CA_FILE,
  CERT_FILE,
  KEY_FILE,
  WorkloadIdentity,
  writeIdentityFiles,
} from '../src/identity/workload-identity.ts';
import type { UpstreamPolicyInput } from '../src/policy.ts';

const CALLS = Number(process.argv[2] ?? 20_000);
const CONCURRENCY = Number(process.argv[3] ?? 32);
const ROUNDS = Number(process.argv[4] ?? 7);
const WARMUP = 3_000;
/**
 * Idle connections stay open across the rotation (every client, plaintext
 * and mTLS alike): a round of the other four clients can last longer than
 * the pools' default 4 s, and then every round reconnected — for mTLS 32 full
 * handshakes per round, which is not the steady state the ratio is about
 * (a handshake per connection, paid once). `connections opened` shows it.
 */
const KEEP_ALIVE_MS = 60_000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, timeoutMs = 5_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (let i = 0; i < 1_000; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end();
        resolve(true);
      });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > end) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`upstream did not listen on ${port}`);
}

interface Upstream {
  kind: string;
  /** One URL per listening port; every port is served by the same one process. */
  urls: string[];
  /** The same upstream over mTLS (one more port of the same process). */
  tlsUrl: string;
  stop(): void;
}

/**
 * One upstream process listening on `ports` ports: the 3-endpoint row gets
 * three endpoints without three server processes competing with the client
 * for the CPU, so the comparison with one endpoint measures the client.
 */
async function startUpstream(ports: number, tlsDir: string): Promise<Upstream> {
  const list: number[] = [];
  for (let i = 0; i < ports; i++) list.push(await freePort());
  const tlsPort = await freePort();
  const [cert, key, ca] = [CERT_FILE, KEY_FILE, CA_FILE].map((f) => join(tlsDir, f));
  let nginx: string | undefined;
  try {
    nginx = execFileSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' }).trim();
  } catch {
    nginx = undefined;
  }
  let child: ChildProcess;
  let kind: string;
  const dir = mkdtempSync(join(tmpdir(), 'bw-bench-'));
  if (nginx) {
    const conf = join(dir, 'nginx.conf');
    writeFileSync(
      conf,
      `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  keepalive_requests 1000000;
  server {
    ${list.map((p) => `listen 127.0.0.1:${p};`).join(' ')}
    location / { default_type application/json; return 200 '{"ok":true}'; }
  }
  server {
    listen 127.0.0.1:${tlsPort} ssl;
    # TLS 1.3 as between the mesh's own (Node) servers and clients; nginx 1.22 offers only up to 1.2 by default.
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate ${cert}; ssl_certificate_key ${key};
    ssl_client_certificate ${ca}; ssl_verify_client on;
    location / { default_type application/json; return 200 '{"ok":true}'; }
  }
}
`,
    );
    child = spawn(nginx, ['-c', conf, '-p', dir], { stdio: 'ignore' });
    kind = 'nginx (1 worker)';
  } else {
    const tlsOpts = `{ cert: fs.readFileSync(${JSON.stringify(cert)}), key: fs.readFileSync(${JSON.stringify(key)}), ca: fs.readFileSync(${JSON.stringify(ca)}), requestCert: true, rejectUnauthorized: true }`;
    const script = `const fs = require('node:fs'); const h = (q, r) => { r.setHeader('content-type','application/json'); r.end('{"ok":true}'); }; for (const p of ${JSON.stringify(list)}) require('node:http').createServer(h).listen(p, '127.0.0.1'); require('node:https').createServer(${tlsOpts}, h).listen(${tlsPort}, '127.0.0.1');`;
    child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    kind = 'node http (child process)';
  }
  for (const p of [...list, tlsPort]) await waitForPort(p);
  return {
    kind,
    urls: list.map((p) => `http://127.0.0.1:${p}`),
    tlsUrl: `https://127.0.0.1:${tlsPort}`,
    stop: () => {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Caller = () => Promise<unknown>;

/**
 * Connections each client opened (undici's `undici:client:connected`), so the
 * mTLS row shows how many handshakes it paid, and the protocol and cipher of
 * its TLS connections.
 */
let running = '';
const opened = new Map<string, number>();
let tlsSession = '';
subscribe('undici:client:connected', (message) => {
  opened.set(running, (opened.get(running) ?? 0) + 1);
  const socket = (message as { socket?: TLSSocket }).socket;
  if (!tlsSession && socket?.encrypted) tlsSession = `${socket.getProtocol()} ${socket.getCipher().name}`;
});

/** Runs `calls` calls at `concurrency`; returns elapsed ms and per-call latencies. */
async function run(
  call: Caller,
  calls: number,
  concurrency: number,
): Promise<{ ms: number; lat: Float64Array; cpuUs: number }> {
  const lat = new Float64Array(calls);
  const cpu0 = process.cpuUsage();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < calls) {
        const i = next++;
        const s = performance.now();
        await call();
        lat[i] = performance.now() - s;
      }
    }),
  );
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, lat, cpuUs: (cpu.user + cpu.system) / calls };
}

function pct(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

function best(xs: number[]): number {
  return Math.max(...xs);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/**
 * The CPU one client costs over another, per call: the median of the
 * differences round by round (both ran within seconds of each other, so a
 * busy moment on the machine lands on both), steadier on a shared machine
 * than a difference of medians or a ratio of best rounds.
 */
function pairedCpu(a: number[], b: number[]): string {
  const d = a.map((x, i) => x - (b[i] as number));
  return `${median(d) >= 0 ? '+' : ''}${median(d).toFixed(1)} µs CPU per call (median of ${d.length} rounds' differences)`;
}

// Two identities from one CA: the upstream is `bench` (what the client checks), the client `bench-client`.
const tlsRoot = mkdtempSync(join(tmpdir(), 'bw-bench-tls-'));
const benchCa = await createRootCa();
const HOUR = 3_600_000;
writeIdentityFiles(join(tlsRoot, 'server'), {
  ...(await benchCa.issue(spiffeId('bench'), HOUR)),
  ca: benchCa.cert,
});
writeIdentityFiles(join(tlsRoot, 'client'), {
  ...(await benchCa.issue(spiffeId('bench-client'), HOUR)),
  ca: benchCa.cert,
});
const clientIdentity = new WorkloadIdentity(join(tlsRoot, 'client'), { watch: false });
const up = await startUpstream(3, join(tlsRoot, 'server'));
const url = up.urls[0] as string;
const pool = new Pool(url, { connections: CONCURRENCY, keepAliveTimeout: KEEP_ALIVE_MS });
const POLICY = {
  timeoutMs: 1_000,
  deadlineMs: 3_000,
  retry: {
    maxRetries: 2,
    backoff: { baseMs: 25, capMs: 250 },
    budget: { percent: 20, minRetriesPerSec: 10 },
  },
  breaker: {
    enabled: true,
    errorThresholdPct: 50,
    volumeThreshold: 20,
    resetTimeoutMs: 5_000,
    slowCallMs: 500,
  },
  bulkhead: { maxConcurrent: 64, maxQueue: 64 },
  pool: { connections: CONCURRENCY, keepAliveTimeoutMs: KEEP_ALIVE_MS },
} satisfies UpstreamPolicyInput;
const mesh = createUpstream({ name: 'bench', baseUrl: url, policy: POLICY });
const meshTls = createUpstream({
  name: 'bench',
  baseUrl: up.tlsUrl,
  policy: POLICY,
  identity: clientIdentity,
});
const mesh3 = createUpstream({
  name: 'bench3',
  baseUrl: up.urls,
  policy: {
    ...POLICY,
    loadBalancer: { policy: 'least_request' },
    outlierDetection: { enabled: true, intervalMs: 1_000 },
  },
});

const raw: Caller = async () => {
  const r = await pool.request({
    method: 'GET',
    path: '/products/1',
    headers: { accept: 'application/json' },
  });
  const b = Buffer.from(await r.body.arrayBuffer());
  if (r.statusCode !== 200 || b.length === 0) throw new Error(`raw: ${r.statusCode}`);
};
const via =
  (client: typeof mesh): Caller =>
  async () => {
    const r = await client.request({
      path: '/products/1',
      route: '/products/:id',
      headers: { accept: 'application/json' },
    });
    if (r.status !== 200 || r.body.length === 0) throw new Error(`${client.name}: ${r.status}`);
  };
const viaMesh = via(mesh);
const viaMesh3 = via(mesh3);
const viaMtls = via(meshTls);
/**
 * The floor: undici's lower-level `dispatch` with a minimal buffering handler
 * and no policy at all. The mesh buffers through `dispatch` too, so
 * mesh/dispatch is the cost of the policies themselves.
 */
const rawDispatch: Caller = () =>
  new Promise<void>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status = 0;
    pool.dispatch(
      { method: 'GET', path: '/products/1', headers: { accept: 'application/json' } },
      {
        onRequestStart() {},
        onResponseStart(_c, s) {
          status = s;
        },
        onResponseData(_c, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          const b = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          if (status !== 200 || !b || b.length === 0) reject(new Error(`dispatch: ${status}`));
          else resolve();
        },
        onResponseError(_c, err) {
          reject(err);
        },
      },
    );
  });

type Name = 'raw' | 'dispatch' | 'mesh' | 'mesh3' | 'mtls';
const NAMES: Name[] = ['raw', 'dispatch', 'mesh', 'mesh3', 'mtls'];
const CALLERS: Record<Name, Caller> = {
  raw,
  dispatch: rawDispatch,
  mesh: viaMesh,
  mesh3: viaMesh3,
  mtls: viaMtls,
};
const LABEL: Record<Name, string> = {
  raw: 'raw undici Pool.request ',
  dispatch: 'raw undici Pool.dispatch',
  mesh: 'mesh client, all policies',
  mesh3: 'mesh client, 3 endpoints (least_request + outlier detection)',
  mtls: 'mesh client, all policies, over mTLS',
};

try {
  console.log(
    `upstream: ${up.kind}; ${CALLS} calls × ${ROUNDS} rounds per client, concurrency ${CONCURRENCY}, warm-up ${WARMUP} each`,
  );
  for (const n of NAMES) {
    running = n;
    await run(CALLERS[n], WARMUP, CONCURRENCY);
  }

  const rps: Record<Name, number[]> = { raw: [], dispatch: [], mesh: [], mesh3: [], mtls: [] };
  const lats: Record<Name, Float64Array[]> = { raw: [], dispatch: [], mesh: [], mesh3: [], mtls: [] };
  const cpus: Record<Name, number[]> = { raw: [], dispatch: [], mesh: [], mesh3: [], mtls: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate which goes first, so no client always gets the warmer machine.
    const order = NAMES.map((_, i) => NAMES[(i + round) % NAMES.length] as Name);
    for (const which of order) {
      running = which;
      const r = await run(CALLERS[which], CALLS, CONCURRENCY);
      rps[which].push((CALLS / r.ms) * 1000);
      lats[which].push(r.lat);
      cpus[which].push(r.cpuUs);
      console.log(
        `  round ${round + 1} ${which.padEnd(8)} ${Math.round((CALLS / r.ms) * 1000)} calls/s, ${r.cpuUs.toFixed(1)} µs CPU per call`,
      );
    }
  }
  const all = (xs: Float64Array[]) => {
    const out = new Float64Array(xs.reduce((n, x) => n + x.length, 0));
    let o = 0;
    for (const x of xs) {
      out.set(x, o);
      o += x.length;
    }
    return out.sort();
  };
  const f = (n: number) => n.toFixed(3);
  const lat = {
    raw: all(lats.raw),
    dispatch: all(lats.dispatch),
    mesh: all(lats.mesh),
    mesh3: all(lats.mesh3),
    mtls: all(lats.mtls),
  };
  // Other processes on the machine only ever slow a round down, so the best
  // round is the least disturbed estimate of each client's capacity; the
  // median is printed too. CPU per call is the steadiest figure of all.
  for (const n of NAMES) {
    console.log(
      `${LABEL[n]}: best ${Math.round(best(rps[n]))} calls/s, median ${Math.round(median(rps[n]))}  p50 ${f(
        pct(lat[n], 0.5),
      )} ms  p99 ${f(pct(lat[n], 0.99))} ms  CPU ${median(cpus[n]).toFixed(1)} µs/call (median)`,
    );
  }
  const ratio = best(rps.mesh) / best(rps.raw);
  const ratioMedian = median(rps.mesh) / median(rps.raw);
  const pc = (x: number) => `${(x * 100).toFixed(1)} %`;
  console.log(
    `throughput mesh / raw Pool.request: ${pc(ratio)} best-of-${ROUNDS} (median ${pc(ratioMedian)}; CPU-bound ${pc(
      median(cpus.raw) / median(cpus.mesh),
    )}) — target ≥ 85 %; added latency p50 ${f(pct(lat.mesh, 0.5) - pct(lat.raw, 0.5))} ms, p99 ${f(
      pct(lat.mesh, 0.99) - pct(lat.raw, 0.99),
    )} ms`,
  );
  console.log(
    `throughput mesh / raw Pool.dispatch (the policies alone): ${pc(best(rps.mesh) / best(rps.dispatch))} best-of-${ROUNDS} (median ${pc(
      median(rps.mesh) / median(rps.dispatch),
    )}; CPU-bound ${pc(median(cpus.dispatch) / median(cpus.mesh))}); added latency p50 ${f(
      pct(lat.mesh, 0.5) - pct(lat.dispatch, 0.5),
    )} ms, p99 ${f(pct(lat.mesh, 0.99) - pct(lat.dispatch, 0.99))} ms; ${pairedCpu(cpus.mesh, cpus.dispatch)}`,
  );
  const ratio3 = best(rps.mesh3) / best(rps.mesh);
  console.log(
    `throughput mesh 3 endpoints / mesh 1 endpoint: ${pc(ratio3)} best-of-${ROUNDS} (median ${pc(
      median(rps.mesh3) / median(rps.mesh),
    )}; CPU-bound ${pc(median(cpus.mesh) / median(cpus.mesh3))}) — target ≥ 95 %; ${pairedCpu(cpus.mesh3, cpus.mesh)} for balancing and outlier detection`,
  );
  const ratioTls = best(rps.mtls) / best(rps.mesh);
  console.log(
    `throughput mesh over mTLS / mesh plaintext: ${pc(ratioTls)} best-of-${ROUNDS} (median ${pc(
      median(rps.mtls) / median(rps.mesh),
    )}; CPU-bound ${pc(median(cpus.mesh) / median(cpus.mtls))}) — target ≥ 90 %; ${pairedCpu(cpus.mtls, cpus.mesh)} for TLS; added latency p50 ${f(pct(lat.mtls, 0.5) - pct(lat.mesh, 0.5))} ms`,
  );
  console.log(
    `connections opened (warm-up included): ${NAMES.map((n) => `${n} ${opened.get(n) ?? 0}`).join(', ')}; mTLS: ${tlsSession || '-'}`,
  );
  if (ratio < 0.85) console.log('BELOW TARGET (mesh / raw)');
  if (ratioTls < 0.9) console.log('BELOW TARGET (mTLS / plaintext)');
  if (ratio3 < 0.95) console.log('BELOW TARGET (3 endpoints / 1)');
} finally {
  await mesh.close();
  await mesh3.close();
  await meshTls.close();
  await pool.close();
  up.stop();
  rmSync(tlsRoot, { recursive: true, force: true });
}
