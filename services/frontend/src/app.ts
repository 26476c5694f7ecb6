/**
 * buildApp(config, deps) → the frontend's service app: the mesh server kit
 * (health, readiness, metrics, request ids, problem+json) serving the shop
 * page, its modules, and /config.json — the page's settings (the public API
 * key, polling) from this process's environment, so nothing is hard-coded in
 * the page.
 */
import { Problem } from '@breakwater/mesh/problem';
import { createServiceAppFor, type ServerOverrides, type ServiceApp } from '@breakwater/mesh/server';
import type { Request, Response } from 'express';
import { type Asset, loadAssets } from './assets.ts';
import type { FrontendConfig } from './config.ts';

export interface FrontendDeps {
  /** Server-kit overrides (tests: `signals: []`, `drainDelayMs: 0`). */
  server?: ServerOverrides;
  /** Directory of the page's files (default services/frontend/public). */
  publicDir?: string;
}

/** Content-Security-Policy: only this origin (and the API's, when elsewhere) may serve code or be called. */
export function contentSecurityPolicy(apiBase: string): string {
  const connect = apiBase ? `'self' ${apiBase}` : `'self'`;
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    `connect-src ${connect}`,
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export function buildApp(config: FrontendConfig, deps: FrontendDeps = {}): ServiceApp {
  const kit = createServiceAppFor(config, { bodyLimit: '1kb', ...deps.server });
  const assets = loadAssets(deps.publicDir);
  const csp = contentSecurityPolicy(config.page.apiBase);
  const pageConfig = JSON.stringify(config.page);

  const send = (req: Request, res: Response, asset: Asset | undefined) => {
    if (asset === undefined)
      throw new Problem({ status: 404, code: 'FRONTEND_ERR_NOT_FOUND', title: 'Not Found' });
    res.setHeader('Content-Type', asset.contentType);
    res.setHeader('Cache-Control', 'no-cache'); // revalidate each load: a deploy shows at once
    res.setHeader('ETag', asset.etag);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    if (asset.contentType.startsWith('text/html')) res.setHeader('Content-Security-Policy', csp);
    if (req.headers['if-none-match'] === asset.etag) {
      res.status(304).end();
      return;
    }
    res.send(asset.body);
  };

  const r = kit.router;
  r.get('/', (req, res) => send(req, res, assets.get('/index.html')));
  r.get('/index.html', (req, res) => send(req, res, assets.get('/index.html')));
  r.get('/config.json', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Content-Type', 'application/json');
    res.send(pageConfig);
  });
  r.get('/styles.css', (req, res) => send(req, res, assets.get('/styles.css')));
  r.get('/js/:module', (req, res) => send(req, res, assets.get(`/js/${req.params.module}`)));
  r.get('/favicon.ico', (_req, res) => {
    res.status(204).end();
  });
  return kit;
}
