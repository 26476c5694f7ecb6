/**
 * `npm run bench` (node gateway/bench/gateway.bench.ts): one run, side by
 * side, the same load against the same loopback upstream:
 *
 *   direct     wrk → upstream
 *   nginx      wrk → nginx (ONE worker process, keep-alive upstream pool) → upstream
 *   node-floor wrk → the least a Node proxy can be: node:http and undici's
 *              Pool.dispatch writing straight into the response (no auth, no
 *              limits, no metrics, no tracing, no breaker) → upstream. Not a
 *              product: it marks the ceiling for any gateway built, as
 *              Breakwater's is, on node:http and undici on this machine, so
 *              the ratios show how much of the gap to nginx is Node and how
 *              much is Breakwater's own work per request
 *   node-floor-mtls  the same, to the upstream over mTLS (the gateway's
 *              certificate; the floor skips only the SPIFFE-id check, paid once
 *              per keep-alive connection)
 *   gateway    wrk → ONE Breakwater gateway process (API-key auth and a Redis
 *              rate limit on every request, limits too high to bite) → upstream
 *              over mTLS, as deployed (issue 15): the gateway presents its
 *              workload certificate, issued by the local platform's CA
 *              (local/src/certificate-authority.ts), and checks the
 *              upstream's SPIFFE id; the upstream requires a client certificate
 *   gateway-plain the same gateway to the plaintext upstream (BW_MTLS=off), for comparison
 *   nginx×2    the same nginx with TWO worker processes
 *   gateway×2  TWO gateway processes on one port (SO_REUSEPORT) sharing one
 *              Redis, over mTLS: the local deployment's real shape (gateway-1, gateway-2)
 *
 * So the fair comparisons are one process against one worker (gateway vs
 * nginx) and the deployed pair against two workers (gateway×2 vs nginx×2).
 * On a 2-core machine wrk, the upstream and the proxy's processes share the
 * same two cores, so ×2 rows show how the pair shares a fixed CPU budget, not
 * a doubling.
 *
 * The upstream is a one-worker nginx answering 200 with a small body, so the
 * proxies, not the upstream, are what is measured. Load is wrk (keep-alive,
 * one thread, 32 connections): first at full speed (peak throughput), then
 * paced at half of the gateway's peak for every target (a wrk Lua delay per
 * connection), where p99s are compared. Each figure is the median of
 * BENCH_ROUNDS (3) interleaved rounds. Prints rps, p50, p99 and the ratios,
 * and the machine's load average (the numbers mean little on a busy machine).
 *
 * Targets: gateway ≥ 50 % of nginx's peak throughput, and < 2 ms of added p99
 * (gateway minus direct) at half its peak rate; issue 16's, against the floor
 * of the same run: peak ≥ 65 % of node-floor's, CPU per request ≤ 1.5× and
 * added p99 at half peak ≤ 1.5× node-floor's — over mTLS (gateway against
 * node-floor-mtls) and in plaintext (gateway-plain against node-floor). The gateway runs with the flags
 * `npm start` gives it (local/src/node-flags.ts). Not a test: it reports.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer } from 'node:net';
import { cpus as cpuList, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CertificateAuthority } from '@breakwater/local/certificate-authority';
import { nodeArgs } from '@breakwater/local/node-flags';
import { stringify } from 'yaml';

const GATEWAY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = resolve(GATEWAY_DIR, '..');
const NGINX = '/usr/sbin/nginx';
const DURATION_S = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 32;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const API_KEY = 'bench-consumer-key-0123456789';
/**
 * Idle connections to the upstream stay open across the interleaved rounds
 * (the floors' and the gateways' pools, and nginx's side of them): a target
 * waits for the seven others between its rounds (35 s at 5 s each), longer
 * than undici's default 4 s, so every round opened 32 connections again —
 * over mTLS a full handshake each for the gateway (~1.5 ms CPU; it resumes no
 * TLS session, by design: mesh/src/identity/client-tls.ts) but a resumed one
 * for the floor. The rows measure the steady state, a handshake per
 * connection paid once, as mesh/bench does.
 */
const KEEP_ALIVE_MS = 300_000;

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'bw-gw-bench-'));

function cleanup(): void {
  for (const c of children) {
    if (c.exitCode !== null || c.pid === undefined) continue;
    // Each child leads its own process group: SIGKILL to the group also takes nginx's
    // workers, which a SIGKILLed master would leave running (orphaned, ports held).
    try {
      process.kill(-c.pid, 'SIGKILL');
    } catch {
      c.kill('SIGKILL');
    }
  }
  rmSync(dir, { recursive: true, force: true });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

function which(bin: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => res(port));
    });
  });
}

async function waitHttp(
  url: string,
  headers: Record<string, string> = {},
  deadlineMs = 15_000,
): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const ok = await fetch(url, { headers })
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not ready: ${url}`);
}

/** The node-floor proxy (see the header): one process, keep-alive pool of 64, streaming both ways. */
const NODE_FLOOR = `
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
const { Pool } = createRequire(process.env.BENCH_RESOLVE_FROM)('undici');
const tlsDir = process.env.BENCH_TLS_DIR;
const { readFileSync } = await import('node:fs');
const pem = (f) => readFileSync(tlsDir + '/' + f);
const connect = tlsDir ? { cert: pem('cert.pem'), key: pem('key.pem'), ca: pem('ca.pem'), checkServerIdentity: () => undefined } : undefined;
const pool = new Pool(process.env.BENCH_UPSTREAM, { connections: 64, keepAliveTimeout: Number(process.env.BENCH_KEEP_ALIVE_MS), ...(connect ? { connect } : {}) });
createServer((req, res) => {
  pool.dispatch(
    { method: req.method, path: req.url, headers: { 'x-forwarded-for': req.socket.remoteAddress }, body: req.method === 'GET' ? null : req },
    {
      onRequestStart() {},
      onResponseStart(controller, status, headers) {
        res.writeHead(status, headers);
        res.on('drain', () => controller.resume());
      },
      onResponseData(controller, chunk) {
        if (!res.write(chunk)) controller.pause();
      },
      onResponseEnd() { res.end(); },
      onResponseError() { if (res.headersSent) res.destroy(); else { res.statusCode = 502; res.end(); } },
    },
  );
}).listen(Number(process.env.BENCH_PORT), '127.0.0.1');
`;

function nodeFloor(port: number, upstreamUrl: string, tlsDir?: string): ChildProcess {
  const file = join(dir, 'node-floor.mjs');
  writeFileSync(file, NODE_FLOOR);
  const child = spawn(process.execPath, [file], {
    env: {
      PATH: process.env.PATH ?? '',
      BENCH_PORT: String(port),
      BENCH_UPSTREAM: upstreamUrl,
      BENCH_KEEP_ALIVE_MS: String(KEEP_ALIVE_MS),
      BENCH_RESOLVE_FROM: join(GATEWAY_DIR, 'package.json'),
      ...(tlsDir === undefined ? {} : { BENCH_TLS_DIR: tlsDir }),
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  return child;
}

function nginx(name: string, server: string, workers = 1): ChildProcess {
  const base = join(dir, name);
  const conf = `${base}.conf`;
  writeFileSync(
    conf,
    `worker_processes ${workers};
daemon off;
master_process on;
pid ${base}.pid;
error_log ${base}.error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${base}.body; proxy_temp_path ${base}.proxy; fastcgi_temp_path ${base}.fcgi;
  uwsgi_temp_path ${base}.uwsgi; scgi_temp_path ${base}.scgi;
  keepalive_requests 1000000;
  keepalive_timeout ${KEEP_ALIVE_MS / 1000}s;
  ${server}
}
`,
  );
  const child = spawn(NGINX, ['-c', conf, '-e', `${base}.error.log`], { stdio: 'ignore', detached: true });
  children.push(child);
  return child;
}

interface Result {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time the proxy process(es) spent per request, µs (undefined for direct). */
  cpuUs?: number;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of a process and its children processes (nginx master + worker), in seconds. */
function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone
    }
  }
  return ticks / CLK_TCK;
}

function processTree(pid: number): number[] {
  try {
    const kids = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .filter(Boolean)
      .map(Number);
    return [pid, ...kids];
  } catch {
    return [pid];
  }
}

/** wrk's duration strings (e.g. 812.00us, 1.20ms, 2.01s) in ms. */
function ms(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s);
  if (!m) return Number.NaN;
  const v = Number(m[1]);
  return m[2] === 'us' ? v / 1000 : m[2] === 'ms' ? v : m[2] === 's' ? v * 1000 : v * 60_000;
}

function wrk(url: string, headers: Record<string, string>, rate?: number, pids: number[] = []): Result {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${DURATION_S}s`, '--latency'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}: ${v}`);
  if (rate !== undefined) {
    // Paced load: each connection waits so that CONNECTIONS connections offer about `rate` requests/s.
    const script = join(dir, `pace-${rate}.lua`);
    writeFileSync(script, `function delay() return ${((CONNECTIONS / rate) * 1000).toFixed(3)} end\n`);
    args.push('-s', script);
  }
  args.push(url);
  const cpu0 = cpuSeconds(pids);
  const out = execFileSync('wrk', args, { encoding: 'utf8' });
  const cpu = cpuSeconds(pids) - cpu0;
  const total = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = ms(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = ms(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0);
  return { rps, p50, p99, errors, ...(pids.length > 0 && total > 0 ? { cpuUs: (cpu / total) * 1e6 } : {}) };
}

async function main(): Promise<void> {
  if (!which('wrk')) throw new Error('wrk is not installed (apt-get install -y wrk)');
  if (!which(NGINX)) throw new Error(`${NGINX} is not installed (apt-get install -y nginx-light)`);
  if (!which('redis-server')) throw new Error('redis-server is not installed');

  const upPort = await freePort();
  const nginxPort = await freePort();
  const redisPort = await freePort();
  const gwPort = await freePort();
  const adminPort = await freePort();
  const nginx2Port = await freePort();
  const gw2Port = await freePort();
  const floorPort = await freePort();
  const floorTlsPort = await freePort();
  const upTlsPort = await freePort();
  const gwPlainPort = await freePort();
  const gwPlainAdminPort = await freePort();
  const gw2AdminPorts = [await freePort(), await freePort()];

  // Certificates from the local platform's CA (a fresh root per run): the upstream's SPIFFE
  // id is the one the gateway expects of upstream "bench", the gateway's is its own.
  const ca = await CertificateAuthority.start({ dir: join(dir, 'ca') });
  const upstreamTls = await ca.issue('bench-upstream', 'bench');
  const gatewayTls = await ca.issue('gateway', 'gateway');
  ca.close(); // no renewals needed: the run is far shorter than a certificate's lifetime
  const answer200 = `location / { default_type application/json; return 200 '{"ok":true,"from":"upstream"}'; }`;
  nginx(
    'upstream',
    `server { listen 127.0.0.1:${upPort}; ${answer200} }
  server {
    listen 127.0.0.1:${upTlsPort} ssl;
    ssl_certificate ${upstreamTls}/cert.pem; ssl_certificate_key ${upstreamTls}/key.pem;
    ssl_client_certificate ${upstreamTls}/ca.pem; ssl_verify_client on;
    ${answer200}
  }`,
  );
  const proxyConf = (
    port: number,
  ) => `upstream bench { server 127.0.0.1:${upPort}; keepalive 64; keepalive_timeout ${KEEP_ALIVE_MS / 1000}s; }
  server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://bench; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }`;
  const nginxProxy = nginx('proxy', proxyConf(nginxPort));
  const nginxProxy2 = nginx('proxy2', proxyConf(nginx2Port), 2);
  const redis = spawn(
    'redis-server',
    ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
      cwd: dir,
    },
  );
  children.push(redis);

  const configFile = join(dir, 'gateway.yaml');
  writeFileSync(
    configFile,
    stringify({
      version: 1,
      upstreams: {
        bench: {
          timeoutMs: 1000,
          deadlineMs: 2000,
          retry: { maxRetries: 1 },
          breaker: { errorThresholdPct: 50, volumeThreshold: 20, resetTimeoutMs: 5000 },
          bulkhead: { maxConcurrent: 1024, maxQueue: 1024 },
          pool: { connections: 64, keepAliveTimeoutMs: KEEP_ALIVE_MS },
        },
      },
      routes: [
        { name: 'bench', path: '/api/bench', stripPrefix: '/api', methods: ['GET'], upstream: 'bench' },
      ],
      consumers: [{ name: 'bench', apiKeys: [API_KEY] }],
      rateLimits: [{ name: 'bench', consumer: 'bench', window: 'fixed', limits: { second: 10_000_000 } }],
    }),
  );
  const startGateway = (port: number, admin: number, name: string, mtls = true): ChildProcess => {
    // What `npm start` runs for a gateway (its bundle and flags: local/src/node-flags.ts), so the row is the deployed process.
    const child = spawn(process.execPath, nodeArgs('gateway', 'gateway/src/main.ts', ROOT), {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        GATEWAY_CONFIG: configFile,
        HOST: '127.0.0.1',
        PORT: String(port),
        GATEWAY_ADMIN_PORT: String(admin),
        GATEWAY_ADMIN_TOKEN: 'bench-admin-token-0123456789',
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        BENCH_URL: mtls ? `https://127.0.0.1:${upTlsPort}` : `http://127.0.0.1:${upPort}`,
        ...(mtls ? { BW_TLS_DIR: gatewayTls } : { BW_MTLS: 'off' }),
        BW_SERVICE: name,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    return child;
  };
  const floor = nodeFloor(floorPort, `http://127.0.0.1:${upPort}`);
  const floorTls = nodeFloor(floorTlsPort, `https://127.0.0.1:${upTlsPort}`, gatewayTls);
  const gateway = startGateway(gwPort, adminPort, 'gateway-bench');
  const gatewayPlain = startGateway(gwPlainPort, gwPlainAdminPort, 'gateway-plain', false);
  const pair = gw2AdminPorts.map((admin, i) => startGateway(gw2Port, admin, `gateway-${i + 1}`));

  const targets: Record<string, { url: string; headers: Record<string, string>; pids: () => number[] }> = {
    direct: { url: `http://127.0.0.1:${upPort}/bench`, headers: {}, pids: () => [] },
    nginx: {
      url: `http://127.0.0.1:${nginxPort}/bench`,
      headers: {},
      pids: () => processTree(nginxProxy.pid as number),
    },
    'node-floor': {
      url: `http://127.0.0.1:${floorPort}/bench`,
      headers: {},
      pids: () => [floor.pid as number],
    },
    'node-floor-mtls': {
      url: `http://127.0.0.1:${floorTlsPort}/bench`,
      headers: {},
      pids: () => [floorTls.pid as number],
    },
    'gateway-plain': {
      url: `http://127.0.0.1:${gwPlainPort}/api/bench`,
      headers: { apikey: API_KEY },
      pids: () => [gatewayPlain.pid as number],
    },
    gateway: {
      url: `http://127.0.0.1:${gwPort}/api/bench`,
      headers: { apikey: API_KEY },
      pids: () => [gateway.pid as number],
    },
    'nginx×2': {
      url: `http://127.0.0.1:${nginx2Port}/bench`,
      headers: {},
      pids: () => processTree(nginxProxy2.pid as number),
    },
    'gateway×2': {
      url: `http://127.0.0.1:${gw2Port}/api/bench`,
      headers: { apikey: API_KEY },
      pids: () => pair.map((c) => c.pid as number),
    },
  };
  for (const t of Object.values(targets)) await waitHttp(t.url, t.headers);
  // Both processes of the pair must be up (each answers on its own admin port).
  for (const admin of gw2AdminPorts) await waitHttp(`http://127.0.0.1:${admin}/metrics`);
  const gw = targets.gateway as { url: string; headers: Record<string, string> };
  const check = await fetch(gw.url, { headers: gw.headers });
  if (check.status !== 200) throw new Error(`the gateway over mTLS answered ${check.status}, not 200`);
  if (!check.headers.get('ratelimit-policy')) throw new Error('the gateway did not apply its rate limit');
  const noCert = await statusWithoutClientCert(upTlsPort, join(gatewayTls, 'ca.pem'));
  if (noCert === 200) throw new Error('the mTLS upstream answered a client without a certificate');
  if ((await fetch(gw.url)).status !== 401) throw new Error('the gateway did not require auth');

  const cpus = cpuList();
  console.log(
    `gateway benchmark: ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}; wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s, median of ${ROUNDS} interleaved rounds; upstream: nginx (1 worker) return 200; Node ${process.version}`,
  );
  // Warm-up (JIT, pools, Redis script cache).
  for (const t of Object.values(targets)) wrk(t.url, t.headers);

  // Rounds interleave the targets (direct, nginx, gateway, direct, …) and each figure is the
  // median of the rounds, so a burst of load from elsewhere on the machine hits all three alike.
  const median = (rs: Result[]): Result => {
    const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    return {
      rps: mid(rs.map((r) => r.rps)),
      p50: mid(rs.map((r) => r.p50)),
      p99: mid(rs.map((r) => r.p99)),
      errors: rs.reduce((a, r) => a + r.errors, 0),
      ...(rs[0]?.cpuUs === undefined ? {} : { cpuUs: mid(rs.map((r) => r.cpuUs as number)) }),
    };
  };
  const rounds = async (rate?: number): Promise<Record<string, Result>> => {
    const runs: Record<string, Result[]> = Object.fromEntries(Object.keys(targets).map((k) => [k, []]));
    for (let i = 0; i < ROUNDS; i++)
      for (const [name, t] of Object.entries(targets))
        runs[name]?.push(wrk(t.url, t.headers, rate, t.pids()));
    return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
  };
  const loadBefore = loadavg()[0]?.toFixed(2);
  const peak = await rounds();
  const half = Math.round((peak.gateway as Result).rps / 2);
  const paced = await rounds(half);
  console.log(
    `load average (1 min) before ${loadBefore}, after ${loadavg()[0]?.toFixed(2)} on ${cpus.length} cores`,
  );

  const row = (name: string, r: Result) =>
    `${name.padEnd(11)} ${r.rps.toFixed(0).padStart(9)} rps   p50 ${r.p50.toFixed(3).padStart(7)} ms   p99 ${r.p99.toFixed(3).padStart(7)} ms   errors ${r.errors}${r.cpuUs === undefined ? '' : `   proxy CPU ${r.cpuUs.toFixed(1)} µs/request`}`;
  console.log('\npeak (unpaced):');
  for (const [n, r] of Object.entries(peak)) console.log(`  ${row(n, r)}`);
  console.log(`\npaced at ${half} req/s (half the gateway's peak), offered to every target:`);
  for (const [n, r] of Object.entries(paced)) console.log(`  ${row(n, r)}`);

  const g = peak.gateway as Result;
  const n = peak.nginx as Result;
  const throughputRatio = g.rps / n.rps;
  const addedP99 = (paced.gateway as Result).p99 - (paced.direct as Result).p99;
  const addedP99Nginx = (paced.nginx as Result).p99 - (paced.direct as Result).p99;
  const g2 = peak['gateway×2'] as Result;
  const n2 = peak['nginx×2'] as Result;
  const pairRatio = g2.rps / n2.rps;
  console.log('\nratios:');
  console.log(
    `  gateway (1 process) / nginx (1 worker) peak throughput: ${(throughputRatio * 100).toFixed(1)} %  (target ≥ 50 %) ${throughputRatio >= 0.5 ? 'MET' : 'NOT MET'}`,
  );
  console.log(
    `  gateway×2 (2 processes, one reusePort port) / nginx×2 (2 workers) peak throughput: ${(pairRatio * 100).toFixed(1)} %  (target ≥ 50 %) ${pairRatio >= 0.5 ? 'MET' : 'NOT MET'}`,
  );
  if (g2.cpuUs !== undefined && n2.cpuUs !== undefined)
    console.log(
      `  proxy CPU per request at peak, ×2 rows: gateway×2 ${g2.cpuUs.toFixed(1)} µs, nginx×2 ${n2.cpuUs.toFixed(1)} µs`,
    );
  const f = peak['node-floor'] as Result;
  console.log(
    `  node-floor / nginx peak throughput: ${((f.rps / n.rps) * 100).toFixed(1)} %  (the ceiling for a proxy on node:http + undici here)`,
  );
  console.log(
    `  gateway / node-floor peak throughput: ${((g.rps / f.rps) * 100).toFixed(1)} %  (what auth, rate limiting, breaker, metrics and tracing cost)`,
  );
  console.log(
    `  gateway / direct peak throughput: ${((g.rps / (peak.direct as Result).rps) * 100).toFixed(1)} %`,
  );
  if (g.cpuUs !== undefined && n.cpuUs !== undefined)
    console.log(
      `  proxy CPU per request at peak: gateway ${g.cpuUs.toFixed(1)} µs, nginx ${n.cpuUs.toFixed(1)} µs (${(g.cpuUs / n.cpuUs).toFixed(1)}x; a busy machine distorts this far less than rps)`,
    );
  const addedP99Floor = (paced['node-floor'] as Result).p99 - (paced.direct as Result).p99;
  console.log(
    `  added p99 at ${half} req/s: gateway ${addedP99.toFixed(3)} ms (target < 2 ms) ${addedP99 < 2 ? 'MET' : 'NOT MET'}; node-floor ${addedP99Floor.toFixed(3)} ms; nginx ${addedP99Nginx.toFixed(3)} ms`,
  );
  // Issue 16: what Breakwater's features cost, against the floor measured in the same run,
  // as deployed (over mTLS) and in plaintext.
  console.log('\nissue 16 targets (gateway, every feature on, against node-floor in the same run):');
  const upstreamOver = { mTLS: ['gateway', 'node-floor-mtls'], plaintext: ['gateway-plain', 'node-floor'] };
  for (const [over, [gwName, floorName]] of Object.entries(upstreamOver)) {
    const gp = peak[gwName as string] as Result;
    const fp = peak[floorName as string] as Result;
    const added = (name: string) => (paced[name] as Result).p99 - (paced.direct as Result).p99;
    console.log(`  to the upstream over ${over} (${gwName} against ${floorName}):`);
    printFloorRatios(gp, fp, added(gwName as string), added(floorName as string), half);
  }
}

/** Issue 16's three ratios of a gateway row against a node-floor row. */
function printFloorRatios(g: Result, f: Result, addedG: number, addedF: number, rate: number): void {
  const met = (ok: boolean) => (ok ? 'MET' : 'NOT MET');
  const share = g.rps / f.rps;
  console.log(
    `    peak throughput: ${(share * 100).toFixed(1)} % of the floor's (target ≥ 65 %) ${met(share >= 0.65)}`,
  );
  if (g.cpuUs !== undefined && f.cpuUs !== undefined) {
    const cpuRatio = g.cpuUs / f.cpuUs;
    console.log(
      `    CPU per request at peak: ${g.cpuUs.toFixed(1)} µs vs ${f.cpuUs.toFixed(1)} µs = ${cpuRatio.toFixed(2)}× the floor's (target ≤ 1.5×) ${met(cpuRatio <= 1.5)}`,
    );
  }
  const p99Ratio = addedG / Math.max(addedF, 0.001);
  console.log(
    `    added p99 at ${rate} req/s: ${addedG.toFixed(3)} ms vs ${addedF.toFixed(3)} ms = ${p99Ratio.toFixed(2)}× the floor's (target ≤ 1.5×) ${met(p99Ratio <= 1.5)}`,
  );
}

/** The mTLS upstream's answer to a client that presents no certificate (nginx: 400). */
function statusWithoutClientCert(port: number, caFile: string): Promise<number> {
  return new Promise((res) => {
    const req = httpsRequest(
      { host: '127.0.0.1', port, path: '/', ca: readFileSync(caFile), checkServerIdentity: () => undefined },
      (r) => {
        r.resume();
        res(r.statusCode ?? 0);
      },
    );
    req.on('error', () => res(0));
    req.end();
  });
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    console.error(`bench failed: ${(err as Error).message}`);
    process.exit(1);
  });
