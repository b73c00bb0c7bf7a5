// A message area next to an action. It stays in the document, empty, from the start (a live
// region that appears together with its text is often not read out), so that errors and results
// are announced; CSS collapses it while it is empty.
import { el } from './dom.js';

export class Notice {
  constructor() {
    this.element = el('p', { class: 'notice', 'aria-live': 'polite' });
  }

  show(message, kind = 'info') {
    // Emptied first, so that the same message given twice is announced twice.
    window.clearTimeout(this.pending);
    this.element.textContent = '';
    this.element.className = `notice notice-${kind}`;
    this.pending = window.setTimeout(() => { this.element.textContent = message; }, 30);
  }

  error(message) {
    this.show(message, 'error');
  }

  success(message) {
    this.show(message, 'success');
  }

  clear() {
    window.clearTimeout(this.pending);
    this.element.className = 'notice';
    this.element.textContent = '';
  }
}
