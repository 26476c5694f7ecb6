/**
 * @breakwater/render — build time only: every generated file of the
 * repository (renderers.ts) and the one loop that writes or checks them
 * (run.ts). Nothing of it ships in a runtime image.
 */
export { RENDERERS, type Rendered, type Renderer } from './renderers.ts';
export { REPO_ROOT } from './root.ts';
export { type RunResult, runRenderers, staleOf } from './run.ts';
