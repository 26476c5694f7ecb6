/**
 * Placing orders and following them. An order is sent with an
 * Idempotency-Key (kept when the shopper retries the same attempt, so a retry
 * can never order twice); on 202 its status is polled with backoff until it
 * is final (CONFIRMED or CANCELLED), honouring Retry-After, and the payment is
 * shown once it is. Orders are remembered in localStorage so a reload — or a
 * catalog outage — does not lose them. Every failure stays inside the order it
 * concerns or the orders banner.
 */
import { ApiError, newIdempotencyKey } from './api.js';
import { backoffDelay, nextWait, seconds } from './backoff.js';
import { createBanner, wait } from './banner.js';

const FINAL = new Set(['CONFIRMED', 'CANCELLED']);
const LABELS = {
  PENDING_PAYMENT: 'Waiting for payment',
  CONFIRMED: 'Confirmed',
  CANCELLED: 'Cancelled',
};
const STORAGE_KEY = 'breakwater.orders';
const SHOPPER_KEY = 'breakwater.shopper';
const REMEMBERED = 10;

/** @param {string} status */
export function statusLabel(status) {
  return LABELS[status] ?? status;
}

/**
 * @typedef {{ id: string, product: string, placedAt: string, status?: string }} Remembered
 * @typedef {{ initialMs: number, maxMs: number, timeoutMs: number }} PollSettings
 */

/**
 * @param {object} deps
 * @param {{ request: (method: string, path: string, init?: object) => Promise<import('./api.js').ApiAnswer> }} deps.api
 * @param {PollSettings} deps.poll
 */
export function mountOrders({ api, poll }) {
  const list = /** @type {HTMLOListElement} */ (document.getElementById('order-list'));
  const empty = /** @type {HTMLElement} */ (document.getElementById('orders-empty'));
  const template = /** @type {HTMLTemplateElement} */ (document.getElementById('order-template'));
  const banner = createBanner(/** @type {HTMLElement} */ (document.getElementById('orders-banner')));
  const backoff = { initialMs: poll.initialMs, maxMs: poll.maxMs };

  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let pausedTimer;

  /** Disables every Order button for `ms` (the server asked us to wait). */
  function pauseOrdering(ms) {
    clearTimeout(pausedTimer);
    const buttons = () => document.querySelectorAll('.order-button');
    for (const b of buttons()) /** @type {HTMLButtonElement} */ (b).disabled = true;
    pausedTimer = setTimeout(() => {
      for (const b of buttons()) {
        const button = /** @type {HTMLButtonElement} */ (b);
        button.disabled = button.dataset.soldOut === 'true';
      }
    }, ms);
  }

  /**
   * @param {{ id: string, name: string }} product
   * @param {string} [idempotencyKey] reused when retrying the same attempt
   */
  async function placeOrder(product, idempotencyKey = newIdempotencyKey()) {
    banner.hide();
    try {
      const answer = await api.request('POST', '/api/orders', {
        body: { customerId: shopperId(), items: [{ productId: product.id, quantity: 1 }] },
        headers: { 'Idempotency-Key': idempotencyKey },
      });
      const id = orderIdFrom(answer);
      if (!id)
        throw new ApiError({ status: answer.status, title: 'The order was accepted but its id is missing' });
      const order = { id, product: product.name, placedAt: new Date().toISOString() };
      remember(order);
      follow(order, answer.data);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.retryAfterMs !== undefined) pauseOrdering(err.retryAfterMs);
      const when =
        err.retryAfterMs === undefined ? '' : ` You can try again in ${seconds(err.retryAfterMs)} s.`;
      banner.show(`Your order for ${product.name} was not placed: ${err.title}.${when}`, {
        onRetry: () => void placeOrder(product, idempotencyKey),
        retryLabel: 'Try again',
        retryNotBeforeMs: err.retryAfterMs,
      });
    }
  }

  /**
   * Adds the order's card and polls its status until final or `poll.timeoutMs` passes.
   * @param {Remembered} order
   * @param {unknown} [initial] the body of the 202, if any
   */
  function follow(order, initial) {
    const existing = list.querySelector(`[data-order-id="${CSS.escape(order.id)}"]`);
    if (existing) return;
    empty.hidden = true;
    const card = /** @type {HTMLElement} */ (template.content.firstElementChild?.cloneNode(true));
    card.dataset.orderId = order.id;
    /** @param {string} s */
    const $ = (s) => /** @type {HTMLElement} */ (card.querySelector(s));
    $('.order-product').textContent = order.product;
    $('.order-id').textContent = order.id;
    card.setAttribute('aria-label', `Order ${order.id} for ${order.product}`);
    list.prepend(card);
    const cardBanner = createBanner($('.order-banner'));
    if (initial && typeof initial === 'object') renderStatus(card, /** @type {any} */ (initial));
    else if (order.status) {
      // What this browser last saw, until the first answer: say it is not fresh.
      card.dataset.status = order.status;
      $('.order-status-value').textContent = `${statusLabel(order.status)} (checking…)`;
    }
    void track(order, card, cardBanner);
  }

  /**
   * @param {Remembered} order
   * @param {HTMLElement} card
   * @param {ReturnType<typeof createBanner>} cardBanner
   */
  async function track(order, card, cardBanner) {
    const recheck = /** @type {HTMLButtonElement} */ (card.querySelector('.order-recheck'));
    recheck.hidden = true;
    const deadline = Date.now() + poll.timeoutMs;
    let attempt = 0;
    while (Date.now() < deadline) {
      let delay;
      try {
        const answer = await api.request('GET', `/api/orders/${encodeURIComponent(order.id)}`);
        cardBanner.hide();
        const status = renderStatus(card, answer.data);
        if (status !== undefined && FINAL.has(status)) {
          void showPayment(order, card);
          return;
        }
        delay = backoffDelay(attempt, backoff);
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        if (err.status === 404 && attempt > 3) {
          cardBanner.show(`This order is not known to the shop: ${err.title}.`);
          forget(order.id);
          return;
        }
        delay = nextWait(err.retryAfterMs, attempt, backoff);
        cardBanner.show(`Status unavailable: ${err.title}.`, { retryInMs: delay });
      }
      attempt++;
      await wait(Math.min(delay, Math.max(0, deadline - Date.now())));
    }
    cardBanner.show(`Stopped checking after ${seconds(poll.timeoutMs)} s; the order may still complete.`);
    recheck.hidden = false;
    recheck.onclick = () => {
      cardBanner.hide();
      void track(order, card, cardBanner);
    };
  }

  /**
   * @param {HTMLElement} card
   * @param {any} data `{ status, history?: [{ status, at? }] }`
   * @returns {string | undefined}
   */
  function renderStatus(card, data) {
    const status = typeof data?.status === 'string' ? data.status : undefined;
    if (status === undefined) return undefined;
    card.dataset.status = status;
    rememberStatus(card.dataset.orderId ?? '', status);
    const value = /** @type {HTMLElement} */ (card.querySelector('.order-status-value'));
    value.textContent = statusLabel(status);
    const history = /** @type {HTMLElement} */ (card.querySelector('.order-history'));
    const entries = Array.isArray(data.history) ? data.history : [];
    history.replaceChildren(
      ...entries.map((/** @type {any} */ h) => {
        const li = document.createElement('li');
        const at = h?.at ?? h?.time ?? h?.timestamp;
        const when = at ? new Date(at) : undefined;
        const time = when && !Number.isNaN(when.getTime()) ? ` at ${when.toLocaleTimeString()}` : '';
        const reason = typeof h?.reason === 'string' && h.reason ? ` (${h.reason})` : '';
        li.textContent = `${statusLabel(String(h?.status ?? '?'))}${time}${reason}`;
        return li;
      }),
    );
    return status;
  }

  /**
   * The payment of a final order; payments being down only dims this line.
   * @param {Remembered} order
   * @param {HTMLElement} card
   */
  async function showPayment(order, card) {
    const line = /** @type {HTMLElement} */ (card.querySelector('.order-payment'));
    line.hidden = false;
    try {
      const answer = await api.request('GET', `/api/payments/${encodeURIComponent(order.id)}`);
      const status = answer.data?.status;
      line.textContent = `Payment: ${typeof status === 'string' ? status.toLowerCase() : 'recorded'}`;
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      line.textContent =
        err.status === 404 ? 'Payment: none recorded' : `Payment details unavailable: ${err.title}.`;
    }
  }

  // Orders placed earlier in this browser keep being followed, whatever else is down.
  for (const order of recall().reverse()) follow(order);

  return {
    placeOrder,
    /** @param {string} id */
    trackById(id) {
      const order = { id, product: 'Tracked order', placedAt: new Date().toISOString() };
      remember(order);
      follow(order);
    },
  };
}

/** @param {import('./api.js').ApiAnswer} answer */
export function orderIdFrom(answer) {
  const location = answer.headers.get('Location');
  const match = location?.match(/\/orders\/([^/?#]+)/);
  if (match?.[1]) return decodeURIComponent(match[1]);
  const id = answer.data?.id ?? answer.data?.orderId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * This browser's shopper id (orders need a customerId; there are no accounts
 * in the reference shop), made once and kept in localStorage.
 */
export function shopperId() {
  try {
    const known = localStorage.getItem(SHOPPER_KEY);
    if (known) return known;
    const id = `shopper-${newIdempotencyKey().slice(0, 8)}`;
    localStorage.setItem(SHOPPER_KEY, id);
    return id;
  } catch {
    return 'shopper-anonymous';
  }
}

/** @returns {Remembered[]} */
function recall() {
  try {
    const parsed = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? '[]');
    return Array.isArray(parsed) ? parsed.filter((o) => typeof o?.id === 'string') : [];
  } catch {
    return [];
  }
}

/** @param {Remembered} order */
function remember(order) {
  try {
    const orders = [order, ...recall().filter((o) => o.id !== order.id)].slice(0, REMEMBERED);
    localStorage.setItem(STORAGE_KEY, JSON.stringify(orders));
  } catch {
    // Storage full or disabled: the order is still followed on this page.
  }
}

/**
 * @param {string} id
 * @param {string} status
 */
function rememberStatus(id, status) {
  try {
    const orders = recall();
    const found = orders.find((o) => o.id === id);
    if (!found || found.status === status) return;
    found.status = status;
    localStorage.setItem(STORAGE_KEY, JSON.stringify(orders));
  } catch {
    // as in remember()
  }
}

/** @param {string} id */
function forget(id) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(recall().filter((o) => o.id !== id)));
  } catch {
    // as above
  }
}
