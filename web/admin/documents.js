// A document previewed in place: images in <img>, PDFs in an <iframe>, both from the document
// route with ?inline=1 (which the server answers with Content-Disposition: inline), plus a
// download link. The route's URL does not say what kind of file it is, so a first request reads
// only the answer's Content-Type and is then aborted.
import { ApiError, describeError, sessionLost } from './api.js';
import { el } from './dom.js';

function inlineUrl(url) {
  return `${url}${url.includes('?') ? '&' : '?'}inline=1`;
}

async function contentType(url, signal) {
  const controller = new AbortController();
  signal.addEventListener('abort', () => controller.abort());
  const response = await fetch(url, {
    credentials: 'same-origin', cache: 'no-store', signal: controller.signal,
  });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    if (response.status === 401) sessionLost();
    throw new ApiError(response.status, body);
  }
  const type = (response.headers.get('Content-Type') ?? '').split(';')[0].trim();
  controller.abort();
  return type;
}

/**
 * A <figure> that fills in its preview once the kind of file is known; `signal` stops the work
 * when the page is left.
 */
export function documentFigure({ id, label, url }, signal) {
  const preview = el('div', { class: 'doc-preview' }, el('p', { class: 'muted' }, 'Loading preview…'));
  const figure = el('figure', { class: 'doc', id, tabindex: '-1' },
    preview,
    el('figcaption', {},
      el('span', { class: 'doc-label' }, label),
      el('span', { class: 'doc-links' },
        el('a', { href: url, download: '' }, 'Download', el('span', { class: 'visually-hidden' }, ` ${label}`)),
        el('a', { href: inlineUrl(url), target: '_blank', rel: 'noopener' }, 'Open',
          el('span', { class: 'visually-hidden' }, ` ${label} in a new tab`)))));

  contentType(inlineUrl(url), signal).then((type) => {
    if (type === 'application/pdf') {
      preview.replaceChildren(el('iframe', {
        // #view=FitH: Chromium's viewer fits the page to the frame's width.
        class: 'doc-pdf', src: `${inlineUrl(url)}#view=FitH`, title: `${label} (PDF)`, loading: 'lazy',
      }));
    } else if (type.startsWith('image/')) {
      preview.replaceChildren(el('img', {
        class: 'doc-image', src: inlineUrl(url), alt: label, loading: 'lazy', decoding: 'async',
      }));
    } else {
      preview.replaceChildren(el('p', { class: 'muted' }, 'No preview for this kind of file; download it instead.'));
    }
  }).catch((error) => {
    if (error.name === 'AbortError') return;
    preview.replaceChildren(el('p', { class: 'notice notice-error' },
      `No preview: ${describeError(error)}`));
  });
  return figure;
}
