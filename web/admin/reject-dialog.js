// The reject dialog: a reason (optional, at most 500 characters, mailed to the captain when mail
// is on and kept in the audit log), Reject and Cancel. Errors stay in the dialog.
import { el } from './dom.js';
import { formDialog } from './form-dialog.js';

const MAX_REASON = 500;

export function rejectDialog(parent, { teamId, submit, done, restoreFocus }) {
  const reason = el('textarea', {
    id: 'reject-reason', name: 'reason', rows: '4', maxlength: String(MAX_REASON),
    'aria-describedby': 'reject-reason-hint',
  });
  formDialog(parent, {
    id: 'reject-dialog',
    title: `Reject ${teamId}?`,
    fields: el('div', { class: 'field' },
      el('label', { for: 'reject-reason' }, 'Reason'),
      reason,
      el('p', { id: 'reject-reason-hint', class: 'hint' },
        `Optional, up to ${MAX_REASON} characters. It is kept in the audit log and, when mail is on, sent to the captain.`)),
    submitLabel: 'Reject team',
    busyText: 'Rejecting…',
    danger: true,
    submit: () => submit(reason.value.trim()),
    done,
    restoreFocus,
  });
}
