// The audit log, newest first, paged: who changed what, when, from what to what.
import { api } from '../api.js';
import { el, pageHeading, table, time } from '../dom.js';
import { href } from '../router.js';
import { intParam, pager } from '../pager.js';

const LIMIT = 50;
const ACTIONS = {
  'team.confirm': 'Team confirmed',
  'team.reject': 'Team rejected',
  'sequence.reset': 'Sequence reset',
  'sequence.sync': 'Sequence synced',
  'token.create': 'Token created',
  'token.revoke': 'Token revoked',
  'outbox.retry': 'Mail retried',
  'user.create': 'User created',
  'user.disable': 'User disabled',
  'user.password': 'Password set',
};

function subject(entry) {
  if (entry.action.startsWith('team.')) return el('a', { href: href('teams', entry.subject) }, entry.subject);
  return entry.subject || '—';
}

export async function render(view, { query }) {
  const offset = intParam(query.offset, 0, 0, 1_000_000_000);
  const answer = await api('/admin/audit', { query: { limit: LIMIT, offset } });
  view.append(
    pageHeading('Audit log'),
    el('p', { class: 'muted' }, 'Every status change, sequence change, token and user change, and mail retry, newest first.'),
    table({
      caption: 'Audit log',
      columns: [
        { label: 'When', cell: (e) => time(e.at) },
        { label: 'Who', cell: (e) => e.actor },
        { label: 'What', cell: (e) => ACTIONS[e.action] ?? e.action },
        { label: 'Subject', cell: subject },
        { label: 'From → to', cell: (e) => (e.from || e.to ? `${e.from ?? '—'} → ${e.to ?? '—'}` : '—') },
        { label: 'Detail', cell: (e) => e.detail || el('span', { class: 'muted' }, '—') },
      ],
      rows: answer.data,
      empty: 'The audit log is empty.',
    }),
    pager({
      total: answer.total, offset, limit: LIMIT, shown: answer.data.length, label: 'Pages of the audit log',
      link: (o) => href('audit', { offset: o }),
    }));
}
