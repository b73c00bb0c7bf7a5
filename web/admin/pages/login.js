// The login page: a user name and password, posted as JSON to /admin/session. The server sets
// an HttpOnly cookie; the page keeps nothing but the user's name and role in memory.
import { api, describeError } from '../api.js';
import { el } from '../dom.js';
import { Notice } from '../notice.js';

export function render(view, { message, onLoggedIn }) {
  const notice = new Notice();
  const username = el('input', {
    id: 'login-username', name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false',
  });
  const password = el('input', {
    id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password',
    required: true,
  });
  const submit = el('button', { type: 'submit', class: 'primary' }, 'Sign in');

  const form = el('form', { class: 'login-form', novalidate: true },
    el('div', { class: 'field' }, el('label', { for: 'login-username' }, 'User name'), username),
    el('div', { class: 'field' }, el('label', { for: 'login-password' }, 'Password'), password),
    submit,
    notice.element);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      notice.error('Enter your user name and password.');
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    notice.show('Signing in…');
    try {
      const answer = await api('/admin/session', {
        method: 'POST',
        body: { username: username.value.trim(), password: password.value },
        expectUnauthorized: true,
      });
      password.value = '';
      onLoggedIn(answer.user);
    } catch (error) {
      password.value = '';
      notice.error(error.status === 401
        ? (error.message || 'The user name or password is not right.')
        : describeError(error));
      password.focus();
    } finally {
      submit.disabled = false;
    }
  });

  view.append(el('section', { class: 'login-card', 'aria-labelledby': 'login-title' },
    el('h1', { id: 'login-title', tabindex: '-1', class: 'page-title' }, 'teamreg console'),
    el('p', { class: 'muted' }, 'Sign in with your organizer account.'),
    message ? el('p', { class: 'notice notice-info', role: 'status' }, message) : null,
    form));
  window.setTimeout(() => username.focus(), 0);
}
