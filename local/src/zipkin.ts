/**
 * The local trace backend: Zipkin's server (the io.zipkin:zipkin-server exec
 * jar the bootstrap pins in tools/versions.env and downloads into
 * .tools/zipkin), run by a Java >= 17 on a loopback port.
 *
 * Bounded on purpose, since it is counted apart from the platform's footprint
 * but still shares the laptop: spans live in memory only (STORAGE_TYPE=mem;
 * Zipkin evicts the oldest traces beyond MEM_MAX_SPANS), the heap is capped
 * (-Xmx, the issue allows at most 256 MiB), one small collector (SerialGC)
 * and the client compiler only (C1: less code cache and compile threads; a
 * trace store does not need C2's peak speed). Zipkin does not trace itself.
 *
 * Every process exports to `<url>/api/v2/spans` (OTEL_EXPORTER_ZIPKIN_ENDPOINT,
 * observability/src/telemetry.ts); the UI is `<url>/zipkin/`, one trace
 * `<url>/zipkin/traces/<trace id>`, its JSON `GET <url>/api/v2/trace/<trace id>`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { which } from './binaries.ts';
import type { ProcessSpec } from './managed-process.ts';
import { LOOPBACK } from './ports.ts';
import { httpProbe } from './readiness.ts';

/**
 * Spans kept in memory; Zipkin drops the oldest traces beyond it. Measured
 * with spans shaped like ours (10 per trace, ~9 tags each: the exporter adds
 * the resource's attributes): ~2.3 KiB of heap per span, so 50 000 spans hold
 * ~135 MiB of the heap below and leave room for queries; 100 000 filled the
 * 256 MiB heap. The short catalog-latency drill made 2 035 spans (729 traces).
 */
export const ZIPKIN_MAX_SPANS = 50_000;
/** The JVM's maximum heap, MiB (the bound is 256). */
export const ZIPKIN_HEAP_MIB = 256;
/**
 * Zipkin's CPU priority (nice 10): nothing waits for it, so on a busy machine its
 * JVM start-up takes the cores only when the platform's own processes leave them.
 */
export const ZIPKIN_NICE = 10;
/** The OpenTelemetry Zipkin exporter's standard variable: the full `/api/v2/spans` URL. */
export const ZIPKIN_ENDPOINT_ENV = 'OTEL_EXPORTER_ZIPKIN_ENDPOINT';
const JAVA_MIN_MAJOR = 17;

export interface ZipkinBinaries {
  java: string;
  jar: string;
  version: string;
}

/** `KEY=value` of tools/versions.env (the bootstrap's pins), or undefined. */
function pinned(root: string, key: string): string | undefined {
  try {
    const text = readFileSync(path.join(root, 'tools', 'versions.env'), 'utf8');
    return new RegExp(`^${key}=(\\S+)`, 'm').exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** The major version `java -version` prints (`"17.0.15"` → 17, `"1.8.0_…"` → 8), or undefined. */
export function javaMajor(versionOutput: string): number | undefined {
  const m = /version "(?:1\.)?(\d+)/.exec(versionOutput);
  return m ? Number(m[1]) : undefined;
}

/**
 * The major version in the `release` file of the JDK or JRE the binary
 * belongs to (`JAVA_VERSION="17.0.15"`), or undefined: read before asking
 * `java -version`, which starts a JVM on the path to `npm start`'s table.
 */
export function releaseMajor(java: string): number | undefined {
  try {
    const text = readFileSync(path.join(path.dirname(realpathSync(java)), '..', 'release'), 'utf8');
    const m = /^JAVA_VERSION="(?:1\.)?(\d+)/m.exec(text);
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

const JAVA_HINT = `Zipkin needs Java >= ${JAVA_MIN_MAJOR} (Debian/Ubuntu: apt-get install default-jre-headless; macOS: brew install openjdk@17)`;

/** The java to run Zipkin with ($JAVA_HOME/bin/java, else PATH), or why there is none. */
export function findJava(env: NodeJS.ProcessEnv = process.env): string | { missing: string } {
  const home = env.JAVA_HOME ? path.join(env.JAVA_HOME, 'bin', 'java') : undefined;
  const java = home && existsSync(home) ? home : which('java', env.PATH ?? '');
  if (!java) return { missing: `java not found: ${JAVA_HINT}` };
  const major =
    releaseMajor(java) ??
    javaMajor(`${spawnSync(java, ['-version'], { encoding: 'utf8', timeout: 15_000 }).stderr ?? ''}`);
  if (major === undefined || major < JAVA_MIN_MAJOR) {
    return { missing: `${java} is Java ${major ?? '(unknown version)'}: ${JAVA_HINT}` };
  }
  return java;
}

const found = new Map<string, ZipkinBinaries>();

/**
 * Java and the pinned jar, or what is missing (a sentence for the status
 * notes). What was found is cached per root and Java search path (`java
 * -version` takes a moment); what is missing is looked for again next time.
 */
export function findZipkin(
  root: string,
  env: NodeJS.ProcessEnv = process.env,
): ZipkinBinaries | { missing: string } {
  const key = JSON.stringify([root, env.JAVA_HOME, env.PATH]);
  const cached = found.get(key);
  if (cached) return cached;
  const version = pinned(root, 'ZIPKIN_VERSION');
  const jar = version && path.join(root, '.tools', 'zipkin', `zipkin-server-${version}-exec.jar`);
  // Java first: without it the bootstrap does not download the jar either.
  const java = jar ? findJava(env) : undefined;
  let result: ZipkinBinaries | { missing: string };
  if (!jar) result = { missing: 'ZIPKIN_VERSION is not pinned in tools/versions.env' };
  else if (typeof java !== 'string') result = java ?? { missing: JAVA_HINT };
  else if (!existsSync(jar)) {
    result = {
      missing: `${path.relative(root, jar)} is missing: the bootstrap downloads it from Maven Central (npm start, npm test)`,
    };
  } else {
    result = { java, jar, version: version as string };
    found.set(key, result);
  }
  return result;
}

export interface ZipkinOptions {
  binaries: ZipkinBinaries;
  name?: string;
  /** Working folder (Java's temporary files). */
  dir: string;
  port: number;
  logFile: string;
  /** Default ZIPKIN_MAX_SPANS. */
  maxSpans?: number;
  /** Default 180_000 (3 min): the JVM starts in ~9 s on a quiet 2-core machine, and took 57 s at load average 35. */
  readyTimeoutMs?: number;
  tier?: number;
  portHint?: string;
}

export function zipkinUrl(port: number): string {
  return `http://${LOOPBACK}:${port}`;
}

/** Where a process sends its spans, given Zipkin's base URL. */
export function zipkinSpansEndpoint(url: string): string {
  return `${url}/api/v2/spans`;
}

export function zipkinSpec(o: ZipkinOptions): ProcessSpec {
  const url = zipkinUrl(o.port);
  const tmp = path.join(o.dir, 'tmp');
  return {
    name: o.name ?? 'zipkin',
    kind: 'zipkin',
    command: o.binaries.java,
    args: [
      `-Xmx${ZIPKIN_HEAP_MIB}m`,
      '-Xms32m',
      '-Xss512k',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-XX:+ExitOnOutOfMemoryError', // down, visible in the status table, rather than a half-alive JVM
      `-Djava.io.tmpdir=${tmp}`,
      '-jar',
      o.binaries.jar,
      // Armeria's server ports are a list: spring binds a list from one
      // source whole, so port, address and protocol are all given here.
      `--armeria.ports[0].port=${o.port}`,
      `--armeria.ports[0].ip=${LOOPBACK}`,
      '--armeria.ports[0].protocols[0]=http',
    ],
    env: {
      QUERY_PORT: String(o.port),
      STORAGE_TYPE: 'mem',
      MEM_MAX_SPANS: String(o.maxSpans ?? ZIPKIN_MAX_SPANS),
      SELF_TRACING_ENABLED: 'false',
      // Collectors a user's environment might switch on (they read these).
      KAFKA_BOOTSTRAP_SERVERS: '',
      RABBIT_ADDRESSES: '',
      RABBIT_URI: '',
      ACTIVEMQ_URL: '',
      PULSAR_SERVICE_URL: '',
      COLLECTOR_SCRIBE_ENABLED: 'false',
    },
    port: o.port,
    url,
    logFile: o.logFile,
    ready: httpProbe(`${url}/health`),
    readyTimeoutMs: o.readyTimeoutMs ?? 180_000,
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 5_000,
    // Traces help; they are not the platform: if the JVM fails to start, the rest runs without it.
    optional: true,
    prepare: async () => {
      mkdirSync(tmp, { recursive: true });
    },
    ...(o.tier !== undefined ? { tier: o.tier } : {}),
    ...(o.portHint !== undefined ? { portHint: o.portHint } : {}),
  };
}
