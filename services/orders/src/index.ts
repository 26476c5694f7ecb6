/** @breakwater/orders: build the service in-process (tests, tools); `main.ts` runs it. */
export * from './app.ts';
export * from './config.ts';
export * from './errors.ts';
