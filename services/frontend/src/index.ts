export { buildApp, contentSecurityPolicy, type FrontendDeps } from './app.ts';
export { type Asset, loadAssets, PUBLIC_DIR } from './assets.ts';
export { type FrontendConfig, FrontendEnv, loadConfig } from './config.ts';
