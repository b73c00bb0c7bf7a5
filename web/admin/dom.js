// Small DOM helpers: the console builds every element in code (the CSP allows no inline markup
// tricks), so these keep the page modules short and readable.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(node, attrs, children) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.setAttribute('class', value);
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key in node && typeof value !== 'string' && node.namespaceURI !== SVG_NS) {
      node[key] = value;
    } else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** An HTML element: el('a', {href: '#/teams', class: 'x'}, 'Teams'). */
export function el(tag, attrs, ...children) {
  return apply(document.createElement(tag), attrs, children);
}

/** An SVG element (createElementNS), for the charts. */
export function svg(tag, attrs, ...children) {
  return apply(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(node) {
  node.replaceChildren();
  return node;
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dateOnly = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** A <time> for an ISO 8601 timestamp, in the reader's time zone; "—" when there is none. */
export function time(iso, { date = false } = {}) {
  if (!iso) return el('span', { class: 'muted' }, '—');
  const parsed = new Date(iso);
  if (Number.isNaN(parsed.getTime())) return el('span', {}, iso);
  return el('time', { datetime: iso, title: iso }, (date ? dateOnly : dateTime).format(parsed));
}

/** A heading that the router moves focus to after a navigation. */
export function pageHeading(text) {
  return el('h1', { tabindex: '-1', class: 'page-title' }, text);
}

const STATUS_LABELS = { pending: 'Pending', confirmed: 'Confirmed', rejected: 'Rejected' };

export function statusBadge(status) {
  return el('span', { class: `badge badge-${status}` }, STATUS_LABELS[status] ?? status);
}

/** A table whose cells carry their column name, so narrow screens can show rows as cards. */
export function table({ caption, columns, rows, empty = 'Nothing to show.' }) {
  if (rows.length === 0) return el('p', { class: 'empty' }, empty);
  return el('div', { class: 'table-wrap' },
    el('table', { class: 'data' },
      caption ? el('caption', { class: 'visually-hidden' }, caption) : null,
      el('thead', {}, el('tr', {}, columns.map((c) => el('th', { scope: 'col' }, c.label)))),
      el('tbody', {}, rows.map((row) => el('tr', {},
        // One wrapper per cell, so that on narrow screens (where a cell is a two-column grid of
        // its label and its content) text and elements stay together.
        columns.map((c) => el('td', { 'data-label': c.label }, el('div', {}, c.cell(row)))))))));
}

/** A definition list from [label, value] pairs. */
export function facts(pairs) {
  return el('dl', { class: 'facts' },
    pairs.map(([label, value]) => [el('dt', {}, label), el('dd', {}, value ?? '—')]));
}

/** The text as a sentence with one full stop at the end. */
export function sentence(text) {
  const trimmed = String(text ?? '').trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}
