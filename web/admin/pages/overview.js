// Overview: teams by status, the sequence, churches and how full they are, registrations per day.
import { api, describeError } from '../api.js';
import { el, pageHeading, table } from '../dom.js';
import { href } from '../router.js';
import { registrationsChart } from '../chart.js';

const STATUSES = [
  { status: 'pending', label: 'Pending' },
  { status: 'confirmed', label: 'Confirmed' },
  { status: 'rejected', label: 'Rejected' },
  { status: '', label: 'All teams' },
];
const PAGE = 1000;
const MAX_PAGES = 20;

async function teamTotal(status) {
  const answer = await api('/admin/teams', { query: { status, limit: 1 } });
  return answer.total;
}

/** registrationDate of every team (the list route pages at most 1000 at a time). */
async function registrationDates() {
  const dates = [];
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const answer = await api('/admin/teams', { query: { limit: PAGE, offset: page * PAGE } });
    dates.push(...answer.data.map((t) => t.registrationDate));
    if (dates.length >= answer.total || answer.data.length === 0) break;
  }
  return dates;
}

/** A section that shows its own error, so one failing call leaves the rest of the page useful. */
function section(id, title, content, extra = null) {
  return el('section', { class: 'panel', 'aria-labelledby': id },
    el('div', { class: 'panel-head' }, el('h2', { id }, title), extra),
    content);
}

function failed(error) {
  return el('p', { class: 'notice notice-error', role: 'alert' }, describeError(error));
}

function statusCards(totals) {
  return el('ul', { class: 'cards' }, STATUSES.map(({ status, label }, i) =>
    el('li', { class: `card card-${status || 'all'}` },
      el('a', { href: href('teams', { status }) },
        el('span', { class: 'card-number' }, String(totals[i])),
        el('span', { class: 'card-label' }, label)))));
}

function sequenceFacts(seq) {
  return el('ul', { class: 'cards cards-wide' },
    el('li', { class: 'card' }, el('a', { href: href('sequence') },
      el('span', { class: 'card-number' }, seq.next_team_id),
      el('span', { class: 'card-label' }, 'Next team ID'))),
    el('li', { class: 'card' }, el('div', {},
      el('span', { class: 'card-number' }, String(seq.current_number)),
      el('span', { class: 'card-label' }, 'Sequence now'))),
    el('li', { class: 'card' }, el('div', {},
      el('span', { class: 'card-number' }, String(seq.highest_issued)),
      el('span', { class: 'card-label' }, 'Highest number issued'))));
}

function churchTable(availability) {
  const { churches, summary } = availability;
  return [
    el('p', { class: 'muted' },
      `${summary.total_churches} churches with teams: ${summary.locked_churches} full, ` +
      `${summary.available_churches} can still register. Rejected teams are not counted.`),
    table({
      caption: 'Churches and how full they are',
      columns: [
        { label: 'Church', cell: (c) => el('a', { href: href('teams', { q: c.church_name }) }, c.church_name) },
        { label: 'Teams', cell: (c) => el('span', { class: 'num' }, String(c.team_count)) },
        {
          label: 'Places',
          cell: (c) => (c.locked
            ? el('span', { class: 'badge badge-locked' }, 'Full')
            : el('span', { class: 'badge badge-open' }, 'Open')),
        },
      ],
      rows: churches,
      empty: 'No church has a team yet.',
    }),
  ];
}

export async function render(view, { onLeave }) {
  const [totals, seq, availability, dates] = await Promise.allSettled([
    Promise.all(STATUSES.map(({ status }) => teamTotal(status))),
    api('/admin/sequence/current'),
    api('/api/churches/availability'),
    registrationDates(),
  ]);
  const value = (result, build) => (result.status === 'fulfilled' ? build(result.value) : failed(result.reason));

  view.append(
    el('div', { class: 'page-head' },
      pageHeading('Overview'),
      el('a', { class: 'button', href: '/admin/export.csv', download: 'teams.csv' }, 'Download CSV')),
    section('overview-status', 'Teams by status', value(totals, statusCards)),
    section('overview-sequence', 'Team numbers', value(seq, sequenceFacts)),
    section('overview-chart', 'Registrations per day',
      value(dates, (list) => registrationsChart(list, onLeave))),
    section('overview-churches', 'Churches', value(availability, churchTable)));
}
