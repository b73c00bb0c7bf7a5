// "Showing 51–100 of 230" with previous and next links; the page lives in the hash (offset).
import { el } from './dom.js';

export function pager({ total, offset, limit, shown, link, label }) {
  // One page needs no pager: the page says how many there are.
  if (offset === 0 && total <= shown) return document.createDocumentFragment();
  const first = total === 0 ? 0 : offset + 1;
  const last = offset + shown;
  const previous = offset > 0 ? link(Math.max(0, offset - limit)) : null;
  const next = last < total ? link(offset + limit) : null;
  const step = (target, text, rel) => (target
    ? el('a', { class: 'button', href: target, rel }, text)
    : el('span', { class: 'button disabled', 'aria-disabled': 'true' }, text));
  return el('nav', { class: 'pager', 'aria-label': label },
    step(previous, 'Previous', 'prev'),
    el('span', { class: 'pager-status' }, total === 0 ? 'None' : `${first}–${last} of ${total}`),
    step(next, 'Next', 'next'));
}

/** A whole number from the hash, within bounds; the fallback when it is anything else. */
export function intParam(value, fallback, min, max) {
  const n = Number.parseInt(value ?? '', 10);
  if (!Number.isFinite(n) || String(n) !== String(value).trim()) return fallback;
  return Math.min(max, Math.max(min, n));
}
