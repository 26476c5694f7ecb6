/**
 * The files a supervisor keeps current while a platform runs: the endpoints
 * files callers balance over (when the platform has discovery) and the
 * target file Prometheus scrapes. `up` uses it, and so does a test that runs
 * a platform with a bare Supervisor.
 */
import { EndpointsFiles } from './endpoints-files.ts';
import type { Platform } from './platform.ts';
import { ScrapeTargetsFile } from './scrape-targets.ts';
import type { Supervisor } from './supervisor.ts';

export interface RunFiles {
  /** Present when the platform has discovery (`scale` drains through it). */
  readonly endpoints: EndpointsFiles | undefined;
  close(): void;
}

export function keepRunFiles(
  runDir: string,
  supervisor: Supervisor,
  platform: Pick<Platform, 'discovery'>,
): RunFiles {
  const endpoints = platform.discovery ? new EndpointsFiles(runDir, supervisor) : undefined;
  const targets = new ScrapeTargetsFile(runDir, supervisor);
  return {
    endpoints,
    close() {
      endpoints?.close();
      targets.close();
    },
  };
}
