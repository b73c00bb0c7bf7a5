// One team: every field, the roster, each document previewed in place, and the review actions
// (confirm, reject with a reason, un-reject). After a change the page is fetched again, so what
// it shows is what the server now holds, including the new audit entry.
import { api, describeError } from '../api.js';
import { el, facts, pageHeading, sentence, statusBadge, table, time } from '../dom.js';
import { href } from '../router.js';
import { Notice } from '../notice.js';
import { documentFigure } from '../documents.js';
import { rejectDialog } from '../reject-dialog.js';

const AUDIT_WINDOW = 200;
const ACTION_LABELS = {
  'team.confirm': 'Confirmed',
  'team.reject': 'Rejected',
};

function contact(person) {
  return facts([
    ['Name', person.name],
    ['Phone', person.phone ? el('a', { href: `tel:${person.phone}` }, person.phone) : null],
    ['E-mail', person.email ? el('a', { href: `mailto:${person.email}` }, person.email) : null],
    ['WhatsApp', person.whatsapp || null],
  ]);
}

function documentList(team, players) {
  const docs = [
    { field: 'pastor_letter', label: 'Pastor letter', url: team.pastorLetter },
    { field: 'payment_receipt', label: 'Payment receipt', url: team.paymentReceipt },
    { field: 'group_photo', label: 'Group photo', url: team.groupPhoto },
  ];
  for (const p of players) {
    docs.push({ field: `${p.playerId}-aadhar`, label: `${p.playerId} ${p.name}: Aadhaar`, url: p.aadharFile });
    docs.push({
      field: `${p.playerId}-subscription`, label: `${p.playerId} ${p.name}: subscription`, url: p.subscriptionFile,
    });
  }
  return docs.filter((d) => d.url).map((d) => ({ ...d, id: `doc-${d.field}` }));
}

/** A button that brings a document's preview into view (an #anchor would change the route). */
function jumpTo(id, text, label) {
  return el('button', {
    type: 'button', class: 'link', 'aria-label': label,
    onclick: () => {
      const target = document.getElementById(id);
      target?.scrollIntoView({ behavior: 'smooth', block: 'start' });
      target?.focus({ preventScroll: true });
    },
  }, text);
}

function roster(players) {
  const docCell = (p) => {
    const links = [];
    if (p.aadharFile) links.push(jumpTo(`doc-${p.playerId}-aadhar`, 'Aadhaar', `Aadhaar of ${p.name}`));
    if (p.subscriptionFile) {
      links.push(jumpTo(`doc-${p.playerId}-subscription`, 'Subscription', `Subscription of ${p.name}`));
    }
    return links.length ? el('span', { class: 'inline-list' }, links) : el('span', { class: 'muted' }, 'None');
  };
  return table({
    caption: 'Players',
    columns: [
      { label: 'Player ID', cell: (p) => p.playerId },
      { label: 'Name', cell: (p) => p.name },
      { label: 'Role', cell: (p) => p.role || el('span', { class: 'muted' }, '—') },
      { label: 'Documents', cell: docCell },
    ],
    rows: players,
    empty: 'This team has no players on record.',
  });
}

function history(entries) {
  return table({
    caption: 'History of this team',
    columns: [
      { label: 'When', cell: (e) => time(e.at) },
      { label: 'Who', cell: (e) => e.actor },
      { label: 'What', cell: (e) => ACTION_LABELS[e.action] ?? e.action },
      { label: 'From → to', cell: (e) => (e.from || e.to ? `${e.from ?? '—'} → ${e.to ?? '—'}` : '—') },
      { label: 'Reason or detail', cell: (e) => e.detail || el('span', { class: 'muted' }, '—') },
    ],
    rows: entries,
    empty: `No change to this team among the latest ${AUDIT_WINDOW} audit entries.`,
  });
}

function section(id, title, ...content) {
  return el('section', { class: 'panel', 'aria-labelledby': id }, el('h2', { id }, title), ...content);
}

function mailNote(answer) {
  if (answer.email_notification === 'queued') return ' A mail to the captain is queued.';
  return '';
}

export async function render(view, { params, canChange, setTitle, onLeave }) {
  const teamId = params.teamId;
  const notice = new Notice();
  notice.element.tabIndex = -1;
  const content = el('div', { class: 'team-content' });
  const controller = new AbortController();
  onLeave(() => controller.abort());

  async function change(button, request, success) {
    const buttons = view.querySelectorAll('.actions button');
    for (const b of buttons) b.disabled = true;
    notice.show(`${button.textContent}…`);
    try {
      const answer = await request();
      await load();
      notice.success(success(answer));
    } catch (error) {
      notice.error(describeError(error));
      for (const b of view.querySelectorAll('.actions button')) b.disabled = false;
    }
    notice.element.focus();
  }

  const confirm = (event) => change(event.currentTarget,
    () => api(`/admin/teams/${encodeURIComponent(teamId)}/confirm`, { method: 'PUT' }),
    (answer) => `${sentence(answer.message)}${mailNote(answer)}`);

  const reject = (event) => {
    const opener = event.currentTarget;
    rejectDialog(view, {
      teamId,
      submit: (reason) => api(`/admin/teams/${encodeURIComponent(teamId)}/reject`, {
        method: 'PUT', body: reason ? { reason } : {},
      }),
      async done(answer) {
        await load().catch((error) => notice.error(describeError(error)));
        notice.success(`${sentence(answer.message)}${mailNote(answer)}`);
        notice.element.focus();
      },
      restoreFocus: () => (opener.isConnected ? opener : notice.element).focus(),
    });
  };

  function actions(status) {
    if (!canChange) {
      return el('p', { class: 'muted' }, 'You are signed in as a viewer: you can look but not change.');
    }
    const buttons = [];
    if (status === 'pending') {
      buttons.push(el('button', { type: 'button', class: 'primary', onclick: confirm }, 'Confirm'));
    }
    if (status === 'rejected') {
      buttons.push(el('button', { type: 'button', class: 'primary', onclick: confirm }, 'Un-reject (confirm)'));
    }
    if (status !== 'rejected') {
      buttons.push(el('button', { type: 'button', class: 'danger', onclick: reject }, 'Reject…'));
    }
    return el('div', { class: 'button-row' }, buttons);
  }

  async function load() {
    const [detail, audit] = await Promise.all([
      api(`/admin/teams/${encodeURIComponent(teamId)}`),
      api('/admin/audit', { query: { limit: AUDIT_WINDOW } }),
    ]);
    const { team, players } = detail.data;
    const entries = audit.data.filter((e) => e.subject === team.teamId);
    const lastReject = entries.find((e) => e.action === 'team.reject');
    setTitle(`${team.teamId} ${team.teamName}`);

    const docs = documentList(team, players);
    content.replaceChildren(
      el('div', { class: 'title-row' },
        pageHeading(`${team.teamId} · ${team.teamName}`), statusBadge(team.registrationStatus)),
      el('section', { class: 'panel actions', 'aria-label': 'Review' },
        actions(team.registrationStatus), notice.element),
      section('team-facts', 'Team', facts([
        ['Team ID', team.teamId],
        ['Team name', team.teamName],
        ['Church', team.churchName],
        ['Registered', time(team.registrationDate)],
        ['Status', statusBadge(team.registrationStatus)],
        team.registrationStatus === 'rejected'
          ? ['Reason', lastReject?.detail || el('span', { class: 'muted' }, 'None given')]
          : null,
        ['Players', String(players.length)],
      ].filter(Boolean))),
      el('div', { class: 'two-up' },
        section('team-captain', 'Captain', contact(team.captain)),
        section('team-vice', 'Vice-captain', contact(team.viceCaptain))),
      section('team-roster', `Players (${players.length})`, roster(players)),
      section('team-documents', `Documents (${docs.length})`,
        docs.length === 0
          ? el('p', { class: 'empty' }, 'This team sent no documents.')
          : el('div', { class: 'doc-grid' }, docs.map((d) => documentFigure(d, controller.signal)))),
      section('team-history', 'History', history(entries)));
  }

  view.append(el('p', { class: 'back' }, el('a', { href: href('teams') }, '← All teams')), content);
  await load();
}
