/**
 * The product list. Loads a page of products; when the catalog cannot answer
 * it shows the catalog banner (with the problem's title), waits Retry-After or
 * a growing backoff, and tries again on its own — the rest of the page is not
 * touched. Stale answers (served from cache while the database is down) are
 * shown with a note.
 */
import { ApiError } from './api.js';
import { nextWait } from './backoff.js';
import { createBanner, wait } from './banner.js';

const PAGE_SIZE = 12;
const RETRY_BACKOFF = { initialMs: 1_000, factor: 2, maxMs: 30_000 };

/**
 * @param {object} deps
 * @param {{ request: (method: string, path: string, init?: object) => Promise<import('./api.js').ApiAnswer> }} deps.api
 * @param {(product: Product) => void} deps.onOrder called when a product's Order button is pressed
 */
export function mountCatalog({ api, onOrder }) {
  const section = /** @type {HTMLElement} */ (document.getElementById('catalog'));
  const list = /** @type {HTMLUListElement} */ (document.getElementById('product-list'));
  const note = /** @type {HTMLElement} */ (document.getElementById('catalog-note'));
  const more = /** @type {HTMLButtonElement} */ (document.getElementById('catalog-more'));
  const template = /** @type {HTMLTemplateElement} */ (document.getElementById('product-template'));
  const banner = createBanner(/** @type {HTMLElement} */ (document.getElementById('catalog-banner')));

  /** @type {string | null} */
  let nextCursor = null;
  /** @type {AbortController | undefined} */
  let pendingRetry;

  /** @param {boolean} first */
  async function load(first) {
    pendingRetry?.abort();
    section.setAttribute('aria-busy', 'true');
    let attempt = 0;
    for (;;) {
      const query = `limit=${PAGE_SIZE}${!first && nextCursor ? `&cursor=${encodeURIComponent(nextCursor)}` : ''}`;
      try {
        const answer = await api.request('GET', `/api/catalog/products?${query}`);
        render(answer.data, first);
        note.hidden = !answer.stale;
        note.textContent = answer.stale
          ? 'Showing saved product data: prices and stock may be out of date.'
          : '';
        banner.hide();
        section.setAttribute('aria-busy', 'false');
        return;
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        const delay = nextWait(err.retryAfterMs, attempt, RETRY_BACKOFF);
        attempt++;
        pendingRetry = new AbortController();
        banner.show(`Products are unavailable right now: ${err.title}.`, {
          retryInMs: delay,
          onRetry: () => pendingRetry?.abort(),
        });
        section.setAttribute('aria-busy', 'false');
        await wait(delay, pendingRetry.signal);
      }
    }
  }

  /**
   * @typedef {{ id: string, name: string, description?: string, priceCents?: number, currency?: string, stock?: number }} Product
   * @param {{ items?: Product[], nextCursor?: string | null } | Product[] | null} data
   * @param {boolean} first
   */
  function render(data, first) {
    const items = Array.isArray(data) ? data : (data?.items ?? []);
    nextCursor = Array.isArray(data) ? null : (data?.nextCursor ?? null);
    if (first) list.replaceChildren();
    for (const product of items) list.append(productItem(product));
    if (first && items.length === 0) {
      const empty = document.createElement('li');
      empty.className = 'note';
      empty.textContent = 'No products yet.';
      list.append(empty);
    }
    more.hidden = nextCursor === null;
  }

  /** @param {Product} product */
  function productItem(product) {
    const item = /** @type {HTMLElement} */ (template.content.firstElementChild?.cloneNode(true));
    item.dataset.productId = product.id;
    const text = (/** @type {string} */ selector, /** @type {string} */ value) => {
      const el = item.querySelector(selector);
      if (el) el.textContent = value;
    };
    text('.product-name', product.name);
    text('.product-description', product.description ?? '');
    text('.product-price', formatPrice(product.priceCents, product.currency));
    const soldOut = product.stock !== undefined && product.stock <= 0;
    text(
      '.product-stock',
      product.stock === undefined ? '' : soldOut ? 'Sold out' : `${product.stock} in stock`,
    );
    const button = /** @type {HTMLButtonElement} */ (item.querySelector('.order-button'));
    button.setAttribute('aria-label', `Order ${product.name}`);
    button.disabled = soldOut;
    if (soldOut) button.dataset.soldOut = 'true';
    button.addEventListener('click', () => onOrder(product));
    return item;
  }

  more.addEventListener('click', async () => {
    more.disabled = true; // one page at a time: a double click must not load it twice
    await load(false);
    more.disabled = false;
  });
  void load(true);
}

/**
 * @param {number | undefined} cents
 * @param {string | undefined} currency
 */
export function formatPrice(cents, currency) {
  if (cents === undefined) return '';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency: currency ?? 'EUR' }).format(
      cents / 100,
    );
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency ?? ''}`.trim();
  }
}
