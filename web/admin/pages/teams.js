// Teams: search (q), status filter, sorting of the loaded page, paging with limit and offset.
import { api } from '../api.js';
import { el, pageHeading, statusBadge, table, time } from '../dom.js';
import { href, navigate } from '../router.js';
import { intParam, pager } from '../pager.js';

const PAGE_SIZES = [25, 50, 100, 200];
const SORTS = {
  newest: { label: 'Newest first', compare: (a, b) => b.registrationDate.localeCompare(a.registrationDate) },
  oldest: { label: 'Oldest first', compare: (a, b) => a.registrationDate.localeCompare(b.registrationDate) },
  team: { label: 'Team name', compare: (a, b) => a.teamName.localeCompare(b.teamName) },
  church: { label: 'Church', compare: (a, b) => a.churchName.localeCompare(b.churchName) },
  status: { label: 'Status', compare: (a, b) => a.registrationStatus.localeCompare(b.registrationStatus) },
  players: { label: 'Most players', compare: (a, b) => b.playerCount - a.playerCount },
};

function select(id, label, options, value) {
  return [
    el('label', { for: id }, label),
    el('select', { id, name: id.replace('teams-', '') },
      options.map(([v, text]) => el('option', { value: v, selected: v === value }, text))),
  ];
}

export async function render(view, { query }) {
  const q = (query.q ?? '').trim();
  const status = ['pending', 'confirmed', 'rejected'].includes(query.status) ? query.status : '';
  const sort = SORTS[query.sort] ? query.sort : 'newest';
  const limit = PAGE_SIZES.includes(Number(query.limit)) ? Number(query.limit) : 50;
  const offset = intParam(query.offset, 0, 0, 1_000_000_000);

  const answer = await api('/admin/teams', { query: { q, status, limit, offset } });
  const rows = [...answer.data].sort(SORTS[sort].compare);
  const link = (overrides) => href('teams', {
    q, status, sort: sort === 'newest' ? '' : sort, limit: limit === 50 ? '' : limit, ...overrides,
  });

  const search = el('input', { id: 'teams-q', name: 'q', type: 'search', value: q,
    placeholder: 'Team ID, name, church, captain, e-mail or phone' });
  const form = el('form', { class: 'filters', role: 'search', 'aria-label': 'Find teams' },
    el('div', { class: 'field field-grow' }, el('label', { for: 'teams-q' }, 'Search'), search),
    el('div', { class: 'field' }, select('teams-status', 'Status',
      [['', 'All'], ['pending', 'Pending'], ['confirmed', 'Confirmed'], ['rejected', 'Rejected']], status)),
    el('div', { class: 'field' }, select('teams-sort', 'Sort this page',
      Object.entries(SORTS).map(([key, s]) => [key, s.label]), sort)),
    el('div', { class: 'field' }, select('teams-limit', 'Per page',
      PAGE_SIZES.map((n) => [String(n), String(n)]), String(limit))),
    el('div', { class: 'field field-button' }, el('button', { type: 'submit', class: 'primary' }, 'Show')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    navigate(link({
      q: String(data.get('q')).trim(), status: data.get('status'),
      sort: data.get('sort') === 'newest' ? '' : data.get('sort'),
      limit: data.get('limit') === '50' ? '' : data.get('limit'), offset: '',
    }));
  });
  // A changed select applies at once; the search box waits for Enter or the button.
  for (const id of ['teams-status', 'teams-sort', 'teams-limit']) {
    form.querySelector(`#${id}`).addEventListener('change', () => form.requestSubmit());
  }

  const filtered = q || status ? ` matching ${[status, q && `“${q}”`].filter(Boolean).join(' and ')}` : '';
  view.append(
    el('div', { class: 'page-head' },
      pageHeading('Teams'),
      el('a', { class: 'button', href: '/admin/export.csv', download: 'teams.csv' }, 'Download CSV')),
    form,
    el('p', { class: 'muted', role: 'status' },
      `${answer.total} team${answer.total === 1 ? '' : 's'}${filtered}.`),
    table({
      caption: 'Teams',
      columns: [
        { label: 'Team ID', cell: (t) => el('a', { href: href('teams', t.teamId) }, t.teamId) },
        { label: 'Team', cell: (t) => t.teamName },
        { label: 'Church', cell: (t) => t.churchName },
        { label: 'Captain', cell: (t) => t.captainName },
        { label: 'Players', cell: (t) => el('span', { class: 'num' }, String(t.playerCount)) },
        { label: 'Registered', cell: (t) => time(t.registrationDate) },
        { label: 'Status', cell: (t) => statusBadge(t.registrationStatus) },
      ],
      rows,
      empty: q || status ? 'No team matches.' : 'No team has registered yet.',
    }),
    pager({
      total: answer.total, offset, limit, shown: rows.length, label: 'Pages of teams',
      link: (o) => link({ offset: o }),
    }));
}
