// Registrations per day as a bar chart in inline SVG, drawn here (no chart library). It is drawn
// at the width it gets, and again when that changes, so its text stays readable at 360 px.
import { el, svg } from './dom.js';

const MAX_DAYS = 60;
const HEIGHT = 220;
const MARGIN = { top: 16, right: 8, bottom: 36, left: 36 };

function localDayKey(date) {
  const month = String(date.getMonth() + 1).padStart(2, '0');
  const day = String(date.getDate()).padStart(2, '0');
  return `${date.getFullYear()}-${month}-${day}`;
}

/** [{day: Date, key, count}] for every local calendar day from the first to the last registration. */
export function countPerDay(isoDates) {
  const counts = new Map();
  let first = null;
  let last = null;
  for (const iso of isoDates) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) continue;
    const day = new Date(date.getFullYear(), date.getMonth(), date.getDate());
    const key = localDayKey(day);
    counts.set(key, (counts.get(key) ?? 0) + 1);
    if (!first || day < first) first = day;
    if (!last || day > last) last = day;
  }
  if (!first) return [];
  const days = [];
  // setDate() steps by calendar day, also across a daylight-saving change.
  for (const day = new Date(first); day <= last; day.setDate(day.getDate() + 1)) {
    const key = localDayKey(day);
    days.push({ day: new Date(day), key, count: counts.get(key) ?? 0 });
  }
  return days;
}

function niceMax(value) {
  if (value <= 4) return Math.max(value, 1);
  const step = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 2.5, 5, 10]) {
    if (factor * step >= value) return factor * step;
  }
  return value;
}

const shortDay = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const longDay = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

function draw(days, width) {
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const top = niceMax(Math.max(...days.map((d) => d.count)));
  const band = plotWidth / days.length;
  const barWidth = Math.max(1, Math.min(band * 0.7, 48));
  const labelEvery = Math.ceil(56 / band);
  const y = (count) => MARGIN.top + plotHeight - (count / top) * plotHeight;
  const total = days.reduce((sum, d) => sum + d.count, 0);
  const busiest = days.reduce((best, d) => (d.count > best.count ? d : best), days[0]);

  const ticks = top <= 4 ? [...Array(top + 1).keys()] : [0, top / 2, top];
  return svg('svg', {
    class: 'chart', width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`,
    role: 'img', 'aria-labelledby': 'chart-title chart-desc',
  },
  svg('title', { id: 'chart-title' }, 'Registrations per day'),
  svg('desc', { id: 'chart-desc' },
    `${total} registrations over ${days.length} days; the busiest day was ` +
    `${longDay.format(busiest.day)} with ${busiest.count}.`),
  ticks.map((tick) => [
    svg('line', {
      class: 'chart-grid', x1: MARGIN.left, x2: width - MARGIN.right, y1: y(tick), y2: y(tick),
    }),
    svg('text', {
      class: 'chart-label', x: MARGIN.left - 6, y: y(tick) + 4, 'text-anchor': 'end',
    }, String(tick)),
  ]),
  days.map((d, i) => {
    const x = MARGIN.left + i * band + (band - barWidth) / 2;
    const center = MARGIN.left + (i + 0.5) * band;
    return svg('g', {},
      svg('rect', {
        class: 'chart-bar', x, y: y(d.count), width: barWidth,
        height: Math.max(0, MARGIN.top + plotHeight - y(d.count)),
      }, svg('title', {}, `${longDay.format(d.day)}: ${d.count}`)),
      d.count > 0 && band >= 20
        ? svg('text', { class: 'chart-value', x: center, y: y(d.count) - 4, 'text-anchor': 'middle' },
          String(d.count))
        : null,
      i % labelEvery === 0
        ? svg('text', {
          class: 'chart-label', x: center, y: HEIGHT - MARGIN.bottom + 16, 'text-anchor': 'middle',
        }, shortDay.format(d.day))
        : null);
  }),
  svg('line', {
    class: 'chart-axis', x1: MARGIN.left, x2: width - MARGIN.right,
    y1: MARGIN.top + plotHeight, y2: MARGIN.top + plotHeight,
  }));
}

/**
 * A figure with the chart and the same numbers as a table (for screen readers and for copying).
 * `onLeave` receives a function that stops the resize observer.
 */
export function registrationsChart(isoDates, onLeave) {
  let days = countPerDay(isoDates);
  const figure = el('figure', { class: 'chart-figure' });
  if (days.length === 0) {
    figure.append(el('p', { class: 'empty' }, 'No registrations yet.'));
    return figure;
  }
  const clipped = days.length > MAX_DAYS;
  if (clipped) days = days.slice(-MAX_DAYS);
  const holder = el('div', { class: 'chart-holder' });
  let drawnWidth = 0;
  const redraw = () => {
    const width = Math.max(280, Math.floor(holder.clientWidth));
    if (width === drawnWidth) return;
    drawnWidth = width;
    holder.replaceChildren(draw(days, width));
  };
  const observer = new ResizeObserver(redraw);
  observer.observe(holder);
  onLeave(() => observer.disconnect());

  figure.append(
    holder,
    el('figcaption', { class: 'muted' },
      `Registrations per day in your time zone${clipped ? `, the last ${MAX_DAYS} days` : ''}.`),
    el('details', {},
      el('summary', {}, 'Show as a table'),
      el('table', { class: 'data compact' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Day'),
          el('th', { scope: 'col' }, 'Registrations'))),
        el('tbody', {}, days.map((d) => el('tr', {},
          el('td', {}, longDay.format(d.day)), el('td', { class: 'num' }, String(d.count))))))));
  return figure;
}
