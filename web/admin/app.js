// The organizers' console: checks the session, shows the login page or the page the hash names,
// and sends every 401 back to the login page.
import { api, onUnauthorized, describeError } from './api.js';
import { el } from './dom.js';
import { currentRoute, matchRoute, navigate } from './router.js';
import * as login from './pages/login.js';
import * as overview from './pages/overview.js';
import * as teams from './pages/teams.js';
import * as team from './pages/team.js';
import * as sequence from './pages/sequence.js';
import * as audit from './pages/audit.js';
import * as outbox from './pages/outbox.js';
import * as access from './pages/access.js';

const ROUTES = [
  { pattern: [], page: overview, nav: 'overview', title: 'Overview' },
  { pattern: ['overview'], page: overview, nav: 'overview', title: 'Overview' },
  { pattern: ['teams'], page: teams, nav: 'teams', title: 'Teams' },
  { pattern: ['teams', ':teamId'], page: team, nav: 'teams', title: 'Team' },
  { pattern: ['sequence'], page: sequence, nav: 'sequence', title: 'Sequence' },
  { pattern: ['audit'], page: audit, nav: 'audit', title: 'Audit log' },
  { pattern: ['outbox'], page: outbox, nav: 'outbox', title: 'Mail outbox' },
  { pattern: ['access'], page: access, nav: 'access', title: 'Users and tokens' },
];

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
const userLabel = document.getElementById('user-label');
const logoutButton = document.getElementById('logout');

const state = { user: null };
let generation = 0;
let cleanups = [];

function leavePage() {
  for (const cleanup of cleanups) cleanup();
  cleanups = [];
}

function setTitle(text) {
  document.title = `${text} · teamreg console`;
}

function showLogin(message) {
  generation += 1;
  leavePage();
  topbar.hidden = true;
  setTitle('Sign in');
  const view = el('div', { class: 'view view-login' });
  login.render(view, {
    message,
    onLoggedIn(user) {
      state.user = user;
      show({ focus: true });
    },
  });
  main.replaceChildren(view);
}

function markNav(name) {
  for (const link of topbar.querySelectorAll('nav a[data-nav]')) {
    if (link.dataset.nav === name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function show({ focus }) {
  if (!state.user) {
    showLogin();
    return;
  }
  generation += 1;
  const mine = generation;
  leavePage();
  const { segments, query } = currentRoute();
  const found = matchRoute(ROUTES, segments);
  if (!found) {
    window.location.replace('#/overview');
    return;
  }
  topbar.hidden = false;
  userLabel.textContent = `${state.user.name} (${state.user.role})`;
  markNav(found.route.nav);
  setTitle(found.route.title);
  main.setAttribute('aria-busy', 'true');
  const view = el('div', { class: `view view-${found.route.nav}` });
  const context = {
    user: state.user,
    canChange: state.user.role !== 'viewer',
    params: found.params,
    query,
    navigate,
    setTitle,
    onLeave: (cleanup) => cleanups.push(cleanup),
    isCurrent: () => mine === generation,
    refresh: () => show({ focus: false }),
  };
  try {
    await found.route.page.render(view, context);
  } catch (error) {
    if (mine !== generation) return;
    view.replaceChildren(
      el('h1', { tabindex: '-1', class: 'page-title' }, found.route.title),
      el('p', { class: 'notice notice-error', role: 'alert' }, describeError(error)));
  }
  if (mine !== generation) return;
  main.removeAttribute('aria-busy');
  main.replaceChildren(view);
  if (focus) view.querySelector('h1')?.focus();
}

function sessionEnded() {
  if (!state.user) return;
  state.user = null;
  showLogin('Your session has ended. Sign in again to continue.');
}

logoutButton.addEventListener('click', async () => {
  logoutButton.disabled = true;
  try {
    await api('/admin/session', { method: 'DELETE', expectUnauthorized: true });
  } catch {
    // Logged out either way: the page forgets the user, and the cookie is the server's to end.
  }
  logoutButton.disabled = false;
  state.user = null;
  showLogin('You have logged out.');
});

// The skip link moves focus without touching the hash, which names the page.
document.querySelector('.skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  (main.querySelector('h1') ?? main).focus();
});

async function boot() {
  onUnauthorized(sessionEnded);
  window.addEventListener('hashchange', () => show({ focus: true }));
  try {
    const session = await api('/admin/session', { expectUnauthorized: true });
    state.user = session.user;
  } catch (error) {
    if (error.status !== 401) {
      showLogin(describeError(error));
      return;
    }
  }
  show({ focus: false });
}

boot();
