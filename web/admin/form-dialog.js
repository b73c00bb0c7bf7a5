// A modal form: a title, the caller's fields, a submit and a Cancel button. Submitting runs the
// caller's async `submit`; its answer closes the dialog and goes to `done`, an error stays in the
// dialog (next to the field the server named, when it named one). Cancel or Escape restores focus.
import { describeError } from './api.js';
import { el } from './dom.js';
import { Notice } from './notice.js';

export function formDialog(parent, { id, title, intro, fields, submitLabel, busyText, danger = false, submit, done, restoreFocus }) {
  const notice = new Notice();
  const send = el('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, submitLabel);
  const cancel = el('button', { type: 'button' }, 'Cancel');
  const form = el('form', { class: 'dialog-form', novalidate: true },
    el('h2', { id: `${id}-title` }, title),
    intro ? el('p', {}, intro) : null,
    fields,
    notice.element,
    el('div', { class: 'button-row' }, send, cancel));
  const dialog = el('dialog', { class: 'dialog', id, 'aria-labelledby': `${id}-title` }, form);

  let answer = null;
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (answer) done(answer);
    else restoreFocus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    send.disabled = true;
    cancel.disabled = true;
    notice.show(busyText);
    try {
      answer = await submit();
      dialog.close();
    } catch (error) {
      notice.error(error instanceof Error && error.local ? error.message : describeError(error));
      const field = error.field ?? error.details?.field;
      const input = field ? form.querySelector(`[name="${CSS.escape(field)}"]`) : null;
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
      send.disabled = false;
      cancel.disabled = false;
    }
  });

  parent.append(dialog);
  dialog.showModal();
  // With nothing to fill in (a confirmation), focus starts on the harmless choice.
  (form.querySelector('input, textarea, select') ?? cancel).focus();
}

/** An error found before anything was sent, shown like a server's, next to its field. */
export function localError(field, message) {
  const error = new Error(message);
  error.local = true;
  error.field = field;
  return error;
}
