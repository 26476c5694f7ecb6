/**
 * Wires the page: reads /config.json (the public API key and polling
 * settings, served by the frontend service from its environment), then mounts
 * each section on its own so a failure in one never blanks the others.
 */
import { createApi } from './api.js';
import { createBanner } from './banner.js';
import { mountCatalog } from './catalog.js';
import { mountOrders } from './orders.js';

const DEFAULTS = { apiBase: '', apiKey: '', poll: { initialMs: 500, maxMs: 5_000, timeoutMs: 120_000 } };

async function loadConfig() {
  try {
    const res = await fetch('/config.json', { cache: 'no-store', signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const config = await res.json();
    return { ...DEFAULTS, ...config, poll: { ...DEFAULTS.poll, ...config.poll } };
  } catch (err) {
    createBanner(/** @type {HTMLElement} */ (document.getElementById('page-banner'))).show(
      `Shop settings could not be loaded (${err instanceof Error ? err.message : String(err)}); trying without them.`,
    );
    return DEFAULTS;
  }
}

async function start() {
  const config = await loadConfig();
  const api = createApi({ base: config.apiBase, apiKey: config.apiKey });
  const orders = mountOrders({ api, poll: config.poll });
  mountCatalog({ api, onOrder: (product) => void orders.placeOrder(product) });

  const form = /** @type {HTMLFormElement} */ (document.getElementById('track-form'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ (form.elements.namedItem('orderId'));
    const id = input.value.trim();
    if (id) orders.trackById(id);
    input.value = '';
  });
  document.documentElement.dataset.ready = 'true';
}

void start();
