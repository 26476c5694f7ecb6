/**
 * A section's banner: says what is unavailable and why (the problem's title),
 * when the page will try again, and offers to try now. Each section owns one,
 * so one part failing never blanks the others.
 */
import { seconds } from './backoff.js';

/**
 * @param {HTMLElement} element the banner (role="alert", hidden when fine)
 */
export function createBanner(element) {
  /** @type {ReturnType<typeof setInterval> | undefined} */
  let ticker;

  function stopTicker() {
    if (ticker !== undefined) clearInterval(ticker);
    ticker = undefined;
  }

  return {
    /**
     * @param {string} message
     * @param {{ retryInMs?: number, onRetry?: () => void, retryLabel?: string, retryNotBeforeMs?: number }} [options]
     *   retryInMs: the page tries again on its own after this (a countdown is shown);
     *   retryNotBeforeMs: the retry button stays disabled this long (the server's Retry-After)
     */
    show(message, options = {}) {
      stopTicker();
      element.replaceChildren();
      const text = document.createElement('span');
      text.className = 'banner-text';
      element.append(text);
      const until = options.retryInMs === undefined ? undefined : Date.now() + options.retryInMs;
      const render = () => {
        const left = until === undefined ? undefined : until - Date.now();
        text.textContent =
          left === undefined
            ? message
            : left > 0
              ? `${message} Trying again in ${seconds(left)} s.`
              : `${message} Trying again…`;
        if (left !== undefined && left <= 0) stopTicker();
      };
      render();
      if (until !== undefined) ticker = setInterval(render, 1_000);
      if (options.onRetry) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'secondary';
        button.textContent = options.retryLabel ?? 'Try now';
        button.addEventListener('click', () => options.onRetry?.());
        if (options.retryNotBeforeMs !== undefined && options.retryNotBeforeMs > 0) {
          button.disabled = true;
          setTimeout(() => {
            button.disabled = false;
          }, options.retryNotBeforeMs);
        }
        element.append(button);
      }
      element.hidden = false;
    },
    hide() {
      stopTicker();
      element.hidden = true;
      element.replaceChildren();
    },
  };
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function wait(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve(undefined);
      },
      { once: true },
    );
  });
}
