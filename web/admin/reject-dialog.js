// The reject dialog: a reason (optional, at most 500 characters, mailed to the captain when mail
// is on and kept in the audit log), Reject and Cancel. Errors stay in the dialog.
import { describeError } from './api.js';
import { el } from './dom.js';
import { Notice } from './notice.js';

const MAX_REASON = 500;

export function rejectDialog(parent, { teamId, submit, done, restoreFocus }) {
  const notice = new Notice();
  const reason = el('textarea', {
    id: 'reject-reason', name: 'reason', rows: '4', maxlength: String(MAX_REASON),
    'aria-describedby': 'reject-reason-hint',
  });
  const send = el('button', { type: 'submit', class: 'danger' }, 'Reject team');
  const cancel = el('button', { type: 'button' }, 'Cancel');
  const form = el('form', { class: 'dialog-form' },
    el('h2', { id: 'reject-title' }, `Reject ${teamId}?`),
    el('div', { class: 'field' },
      el('label', { for: 'reject-reason' }, 'Reason'),
      reason,
      el('p', { id: 'reject-reason-hint', class: 'hint' },
        `Optional, up to ${MAX_REASON} characters. It is kept in the audit log and, when mail is on, sent to the captain.`)),
    notice.element,
    el('div', { class: 'button-row' }, send, cancel));
  const dialog = el('dialog', { class: 'dialog', 'aria-labelledby': 'reject-title' }, form);

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
    notice.show('Rejecting…');
    try {
      answer = await submit(reason.value.trim());
      dialog.close();
    } catch (error) {
      notice.error(describeError(error));
      send.disabled = false;
      cancel.disabled = false;
    }
  });

  parent.append(dialog);
  dialog.showModal();
  reason.focus();
}
