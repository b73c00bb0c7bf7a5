// Console users and API tokens, for admins: list, add a user, set a password, disable; create a
// token (shown once, here only), revoke. The server checks every rule again and audits each change.
import { api, describeError } from '../api.js';
import { el, pageHeading, table, time } from '../dom.js';
import { formDialog, localError } from '../form-dialog.js';
import { Notice } from '../notice.js';

// The server's rules (admin/auth.cpp valid_token_name, admin/passwords.cpp), checked here first
// so that a slip is named before anything is sent.
const NAME_RULE = /^[A-Za-z0-9._-]{1,64}$/;
const RESERVED = /^(env|cli|system.*)$/;
const MIN_PASSWORD = 12;
const NAME_HINT = "1–64 letters, digits, '.', '_' or '-'. A name is never used twice, by a user or a token.";

function nameProblem(name) {
  if (!name) return 'Enter a name.';
  if (!NAME_RULE.test(name)) return "Names are 1–64 letters, digits, '.', '_' or '-', without spaces.";
  if (RESERVED.test(name)) return 'env, cli and names starting with system are reserved.';
  return null;
}

function passwordProblem(password, repeated) {
  if ([...password].length < MIN_PASSWORD) return ['password', `Passwords need at least ${MIN_PASSWORD} characters.`];
  if (password !== repeated) return ['password_again', 'The two passwords differ. Type the same password twice.'];
  return null;
}

function input(id, name, attrs = {}) {
  return el('input', { id, name, autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', ...attrs });
}

function field(id, label, control, hint) {
  return el('div', { class: 'field' },
    el('label', { for: id }, label),
    control,
    hint ? el('p', { id: `${id}-hint`, class: 'hint' }, hint) : null);
}

/** Clears a field's error mark as soon as it is edited. */
function clearOnInput(form) {
  form.addEventListener('input', (event) => event.target.removeAttribute?.('aria-invalid'));
}

/** Marks the field the error names (the server's details.field, or a local check's). */
function markField(form, error) {
  const name = error.field ?? error.details?.field;
  const target = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
  if (!target) return;
  target.setAttribute('aria-invalid', 'true');
  target.focus();
}

function status(active, inactiveLabel) {
  return el('span', { class: `badge ${active ? 'badge-open' : 'badge-locked'}` }, active ? 'Active' : inactiveLabel);
}

function usersSection({ me, reload, notice }) {
  const body = el('div');

  const passwordDialog = (user, button) => {
    const password = input('user-new-password', 'password', { type: 'password', autocomplete: 'new-password', 'aria-describedby': 'user-new-password-hint' });
    const again = input('user-new-password-again', 'password_again', { type: 'password', autocomplete: 'new-password' });
    formDialog(body, {
      id: 'password-dialog',
      title: `New password for ${user.name}`,
      intro: `All of ${user.name === me.name ? 'your' : `${user.name}'s`} sessions end at once${user.name === me.name ? ', so you will sign in again' : ''}.`,
      fields: [
        field('user-new-password', 'New password', password, `At least ${MIN_PASSWORD} characters.`),
        field('user-new-password-again', 'New password again', again),
      ],
      submitLabel: 'Set password',
      busyText: 'Setting the password…',
      async submit() {
        const problem = passwordProblem(password.value, again.value);
        if (problem) throw localError(...problem);
        return api(`/admin/users/${encodeURIComponent(user.name)}/password`, { method: 'POST', body: { password: password.value } });
      },
      async done() {
        notice.success(`${user.name} has a new password; their sessions have ended.`);
        await reload();
      },
      restoreFocus: () => button.focus(),
    });
  };

  const disableDialog = (user, button) => {
    formDialog(body, {
      id: 'disable-dialog',
      title: `Disable ${user.name}?`,
      intro: `${user.name} is signed out at once and cannot sign in again. A disabled account cannot be enabled again; create a new one if needed.`,
      fields: [],
      submitLabel: 'Disable user',
      busyText: 'Disabling…',
      danger: true,
      submit: () => api(`/admin/users/${encodeURIComponent(user.name)}/disable`, { method: 'POST' }),
      async done() {
        notice.success(`${user.name} is disabled and signed out.`);
        await reload();
      },
      restoreFocus: () => button.focus(),
    });
  };

  const actions = (user) => {
    if (!user.active) return el('span', { class: 'muted' }, '—');
    const setPassword = el('button', { type: 'button', 'aria-label': `Set a new password for ${user.name}` }, 'Set password');
    setPassword.addEventListener('click', () => passwordDialog(user, setPassword));
    if (user.name === me.name) return el('div', { class: 'button-row' }, setPassword, el('span', { class: 'muted' }, '(you)'));
    const disable = el('button', { type: 'button', class: 'danger', 'aria-label': `Disable ${user.name}` }, 'Disable');
    disable.addEventListener('click', () => disableDialog(user, disable));
    return el('div', { class: 'button-row' }, setPassword, disable);
  };

  const render = (users) => body.replaceChildren(table({
    caption: 'Console users',
    columns: [
      { label: 'Name', cell: (u) => u.name },
      { label: 'Role', cell: (u) => (u.role === 'admin' ? 'Admin' : 'Viewer') },
      { label: 'Status', cell: (u) => status(u.active, 'Disabled') },
      { label: 'Last seen', cell: (u) => time(u.last_seen_at) },
      { label: 'Password set', cell: (u) => time(u.password_changed_at) },
      { label: 'Actions', cell: actions },
    ],
    rows: users,
    empty: 'No console users yet.',
  }));
  return { element: body, render };
}

function addUserForm({ reload }) {
  const notice = new Notice();
  const name = input('new-user-name', 'name', { required: true, 'aria-describedby': 'new-user-name-hint' });
  const role = el('select', { id: 'new-user-role', name: 'role' },
    el('option', { value: 'admin' }, 'Admin: may change things'),
    el('option', { value: 'viewer' }, 'Viewer: may only look'));
  const password = input('new-user-password', 'password', { type: 'password', autocomplete: 'new-password', required: true, 'aria-describedby': 'new-user-password-hint' });
  const again = input('new-user-password-again', 'password_again', { type: 'password', autocomplete: 'new-password', required: true });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Add user');
  const form = el('form', { class: 'stack', novalidate: true, 'aria-labelledby': 'add-user-title' },
    el('h3', { id: 'add-user-title' }, 'Add a user'),
    field('new-user-name', 'User name', name, NAME_HINT),
    field('new-user-role', 'Role', role),
    field('new-user-password', 'Password', password, `At least ${MIN_PASSWORD} characters. Give it to the person by a safe channel; they cannot change it themselves.`),
    field('new-user-password-again', 'Password again', again),
    el('div', { class: 'button-row' }, submit),
    notice.element);
  clearOnInput(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const wanted = name.value.trim();
    const problem = nameProblem(wanted) ? ['name', nameProblem(wanted)] : passwordProblem(password.value, again.value);
    if (problem) {
      notice.error(problem[1]);
      markField(form, { field: problem[0] });
      return;
    }
    submit.disabled = true;
    notice.show('Adding the user…');
    try {
      const answer = await api('/admin/users', { method: 'POST', body: { name: wanted, role: role.value, password: password.value } });
      form.reset();
      await reload();
      notice.success(`${answer.user.name} can now sign in as ${answer.user.role === 'admin' ? 'an admin' : 'a viewer'}.`);
    } catch (error) {
      notice.error(describeError(error));
      markField(form, error);
    } finally {
      password.value = '';
      again.value = '';
      submit.disabled = false;
    }
  });
  return form;
}

function tokensSection({ reload, notice }) {
  const body = el('div');
  const revokeDialog = (token, button) => {
    formDialog(body, {
      id: 'revoke-dialog',
      title: `Revoke the token ${token.name}?`,
      intro: 'Scripts that use it get 401 from now on. A revoked token cannot be used again, and its name stays taken.',
      fields: [],
      submitLabel: 'Revoke token',
      busyText: 'Revoking…',
      danger: true,
      submit: () => api(`/admin/tokens/${encodeURIComponent(token.name)}`, { method: 'DELETE' }),
      async done() {
        notice.success(`The token ${token.name} is revoked.`);
        await reload();
      },
      restoreFocus: () => button.focus(),
    });
  };
  const revokeCell = (token) => {
    if (!token.active) return el('span', {}, 'Revoked ', time(token.revoked_at));
    const button = el('button', { type: 'button', class: 'danger', 'aria-label': `Revoke ${token.name}` }, 'Revoke');
    button.addEventListener('click', () => revokeDialog(token, button));
    return button;
  };
  const render = (tokens) => body.replaceChildren(table({
    caption: 'API tokens',
    columns: [
      { label: 'Name', cell: (t) => t.name },
      { label: 'Status', cell: (t) => status(t.active, 'Revoked') },
      { label: 'Created', cell: (t) => time(t.created_at) },
      { label: 'Last used', cell: (t) => time(t.last_used_at) },
      { label: 'Revoke', cell: revokeCell },
    ],
    rows: tokens,
    empty: 'No API tokens yet.',
  }));
  return { element: body, render };
}

/** The new token, in a read-only box with a copy button: this is the only time anyone sees it. */
function shownOnce(name, token) {
  const box = el('input', { id: 'new-token-value', readonly: true, value: token, class: 'token-value', spellcheck: 'false' });
  const copied = new Notice();
  const copy = el('button', { type: 'button' }, 'Copy');
  copy.addEventListener('click', async () => {
    box.select();
    try {
      await navigator.clipboard.writeText(token);
      copied.success('Copied.');
    } catch {
      copied.show('Selected: press Ctrl+C (⌘C) to copy.');
    }
  });
  return el('div', { class: 'token-once', role: 'region', 'aria-labelledby': 'token-once-title' },
    el('h3', { id: 'token-once-title' }, `Token ${name}`),
    el('p', {}, el('strong', {}, 'Store it now: it is shown only this once. '),
      'Send it as the header ', el('code', {}, 'Authorization: Bearer <token>'), '.'),
    el('label', { for: 'new-token-value' }, 'New token'),
    el('div', { class: 'token-row' }, box, copy),
    copied.element);
}

function createTokenForm({ reload }) {
  const notice = new Notice();
  const result = el('div');
  const name = input('new-token-name', 'name', { required: true, 'aria-describedby': 'new-token-name-hint' });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Create token');
  const form = el('form', { class: 'stack', novalidate: true, 'aria-labelledby': 'create-token-title' },
    el('h3', { id: 'create-token-title' }, 'Create a token'),
    field('new-token-name', 'Token name', name, `What uses it, e.g. deploy-bot. ${NAME_HINT}`),
    el('div', { class: 'button-row' }, submit),
    notice.element);
  clearOnInput(form);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.replaceChildren();
    const wanted = name.value.trim();
    const problem = nameProblem(wanted);
    if (problem) {
      notice.error(problem);
      markField(form, { field: 'name' });
      return;
    }
    submit.disabled = true;
    notice.show('Creating the token…');
    try {
      const answer = await api('/admin/tokens', { method: 'POST', body: { name: wanted } });
      form.reset();
      notice.clear();
      await reload();
      result.replaceChildren(shownOnce(answer.name, answer.token));
      result.querySelector('input').focus();
      result.querySelector('input').select();
    } catch (error) {
      notice.error(describeError(error));
      markField(form, error);
    } finally {
      submit.disabled = false;
    }
  });
  return el('div', {}, form, result);
}

export async function render(view, { user, canChange }) {
  view.append(pageHeading('Users and tokens'));
  if (!canChange) {
    view.append(el('p', { class: 'notice notice-info' },
      'Only admins can see and manage console users and API tokens. Ask an admin if you need a change.'));
    return;
  }
  const userNotice = new Notice();
  const tokenNotice = new Notice();
  let users = null;
  let tokens = null;
  const reloadUsers = async () => users.render((await api('/admin/users')).data);
  const reloadTokens = async () => tokens.render((await api('/admin/tokens')).data);
  users = usersSection({ me: user, reload: reloadUsers, notice: userNotice });
  tokens = tokensSection({ reload: reloadTokens, notice: tokenNotice });
  await Promise.all([reloadUsers(), reloadTokens()]);

  view.append(
    el('section', { class: 'panel', 'aria-labelledby': 'access-users' },
      el('h2', { id: 'access-users' }, 'Console users'),
      el('p', { class: 'muted' }, 'People who sign in here. Admins may change things; viewers may only look. Setting a password or disabling a user ends their sessions at once.'),
      userNotice.element,
      users.element,
      addUserForm({ reload: reloadUsers })),
    el('section', { class: 'panel', 'aria-labelledby': 'access-tokens' },
      el('h2', { id: 'access-tokens' }, 'API tokens'),
      el('p', { class: 'muted' }, 'For scripts that call the admin API. Only a hash of each token is stored.'),
      tokenNotice.element,
      tokens.element,
      createTokenForm({ reload: reloadTokens })),
    el('p', { class: 'muted' }, 'The same can be done on the server with ', el('code', {}, 'teamreg admin user …'),
      ' and ', el('code', {}, 'teamreg admin token …'), ' (docs/admin.md).'));
}
