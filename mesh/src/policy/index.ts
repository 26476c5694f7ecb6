export * from './edges.ts';
export * from './files.ts';
export * from './istio.ts';
export * from './network-policies.ts';
export * from './schema.ts';
export * from './views.ts';
