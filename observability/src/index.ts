export * from './logger.ts';
export * from './metric-names.ts';
export * from './metrics.ts';
export * from './tracing.ts';
