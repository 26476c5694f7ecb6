/**
 * JSON logs (pino) that carry `trace_id` and `span_id` of the active
 * OpenTelemetry span, so a log line and its trace join up.
 */
import { type Logger, type LoggerOptions, pino } from 'pino';
import { activeTraceIds } from './tracing.ts';

export type { Logger } from 'pino';

export interface LoggerSettings {
  /** The `service` field on every line. */
  service: string;
  /** pino level; default `process.env.LOG_LEVEL` or `info`. */
  level?: string;
  /** Where lines go; default stdout. Tests pass a stream to read them back. */
  destination?: pino.DestinationStream;
  /** Extra pino options (merged last). */
  options?: LoggerOptions;
}

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);

/**
 * A pino logger for `service`. An unknown level (from LOG_LEVEL) falls back
 * to `info` with a warning line rather than breaking start-up: telemetry
 * settings warn, they never stop a service.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const wanted = settings.level ?? process.env.LOG_LEVEL ?? 'info';
  const level = LEVELS.has(wanted) ? wanted : 'info';
  const logger = pino(
    {
      level,
      base: { service: settings.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin: () => activeTraceIds() ?? {},
      ...settings.options,
    },
    settings.destination ?? pino.destination({ sync: false }),
  );
  if (level !== wanted) logger.warn({ wanted }, 'unknown log level, using info');
  return logger;
}
