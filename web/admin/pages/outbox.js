// The mail outbox: mails waiting, sent and given up (no bodies), with a retry for the dead ones.
import { api, describeError } from '../api.js';
import { el, pageHeading, table, time } from '../dom.js';
import { href, navigate } from '../router.js';
import { Notice } from '../notice.js';
import { intParam, pager } from '../pager.js';

const LIMIT = 50;
const STATUSES = [['', 'All'], ['pending', 'Waiting'], ['sent', 'Sent'], ['dead', 'Given up']];
const KINDS = { received: 'Registration received', confirmed: 'Team confirmed', rejected: 'Team rejected' };

/** The one time that matters for the mail's status. */
function when(mail) {
  if (mail.status === 'sent') return el('span', {}, 'Sent ', time(mail.sent_at));
  if (mail.status === 'pending') return el('span', {}, 'Next try ', time(mail.next_attempt_at));
  return el('span', {}, 'Queued ', time(mail.created_at));
}

function mailTable(mails, status, retryCell) {
  return table({
    caption: 'Mails',
    columns: [
      { label: 'ID', cell: (m) => String(m.id) },
      { label: 'Kind', cell: (m) => KINDS[m.kind] ?? m.kind },
      { label: 'Team', cell: (m) => (m.team_id ? el('a', { class: 'nowrap', href: href('teams', m.team_id) }, m.team_id) : '—') },
      { label: 'To', cell: (m) => [m.recipient, m.cc ? el('span', { class: 'muted' }, ` (cc ${m.cc})`) : null] },
      {
        label: 'Status',
        cell: (m) => el('span', { class: `badge badge-mail-${m.status}` },
          STATUSES.find(([s]) => s === m.status)?.[1] ?? m.status),
      },
      { label: 'Attempts', cell: (m) => String(m.attempts) },
      { label: 'When', cell: when },
      { label: 'Last error', cell: (m) => (m.last_error ? el('span', { class: 'error-text' }, m.last_error) : el('span', { class: 'muted' }, '—')) },
      { label: 'Retry', cell: retryCell },
    ],
    rows: mails,
    empty: status ? 'No mail with this status.' : 'The outbox is empty (or mail is off).',
  });
}

export async function render(view, { query, canChange }) {
  const status = STATUSES.some(([s]) => s && s === query.status) ? query.status : '';
  const offset = intParam(query.offset, 0, 0, 1_000_000_000);
  const notice = new Notice();
  notice.element.tabIndex = -1;
  const list = el('div');

  const filter = el('select', { id: 'outbox-status', name: 'status' },
    STATUSES.map(([value, label]) => el('option', { value, selected: value === status }, label)));
  filter.addEventListener('change', () => navigate(href('outbox', { status: filter.value })));

  let load = null;
  async function retry(mail, button) {
    button.disabled = true;
    notice.show(`Retrying mail ${mail.id}…`);
    try {
      const result = await api(`/admin/outbox/${encodeURIComponent(mail.id)}/retry`, { method: 'POST' });
      await load();
      notice.success(result.changed
        ? `Mail ${mail.id} to ${mail.recipient} is waiting to be sent again.`
        : `Mail ${mail.id} was already waiting to be sent; nothing changed.`);
    } catch (error) {
      notice.error(describeError(error));
      button.disabled = false;
    }
    notice.element.focus();
  }

  const retryCell = (mail) => {
    if (mail.status !== 'dead') return el('span', { class: 'muted' }, '—');
    if (!canChange) return el('span', { class: 'muted' }, 'Admins can retry');
    const button = el('button', { type: 'button', 'aria-label': `Retry mail ${mail.id} to ${mail.recipient}` }, 'Retry');
    button.addEventListener('click', () => retry(mail, button));
    return button;
  };

  load = async () => {
    const answer = await api('/admin/outbox', { query: { status, limit: LIMIT, offset } });
    list.replaceChildren(
      mailTable(answer.data, status, retryCell),
      pager({
        total: answer.total, offset, limit: LIMIT, shown: answer.data.length, label: 'Pages of the outbox',
        link: (o) => href('outbox', { status, offset: o }),
      }));
  };
  await load();

  view.append(
    pageHeading('Mail outbox'),
    el('p', { class: 'muted' },
      'Mails to captains. Failed sends are retried automatically; a mail that kept failing is given up. Retry it once the cause is fixed.'),
    el('div', { class: 'filters' },
      el('div', { class: 'field' }, el('label', { for: 'outbox-status' }, 'Show'), filter)),
    notice.element,
    list);
}
