export * from './checks.ts';
export * from './config.ts';
export * from './duration.ts';
export * from './journey.ts';
export * from './outcome.ts';
export * from './phases.ts';
export * from './profiles.ts';
export * from './shop-api.ts';
