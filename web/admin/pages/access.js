// Users and API tokens are managed with the teamreg command on the server, not in the browser:
// the HTTP API has no routes for them (only /admin/session). This page says how.
import { el, pageHeading } from '../dom.js';

function command(text) {
  return el('pre', { class: 'command' }, el('code', {}, text));
}

export async function render(view) {
  view.append(
    pageHeading('Users and tokens'),
    el('p', {}, 'Console users and API tokens are managed on the server with the teamreg command, with the same ',
      el('code', {}, '--data-dir'), ' or ', el('code', {}, '--database'),
      ' as the running server. Changes take effect at once; the server need not restart.'),
    el('section', { class: 'panel', 'aria-labelledby': 'access-users' },
      el('h2', { id: 'access-users' }, 'Console users'),
      el('p', {}, 'The password (at least 12 characters) is read from standard input, so it never shows in the process list or the shell history. ',
        'Role ', el('code', {}, 'admin'), ' (the default) may change things; ', el('code', {}, 'viewer'), ' may only look.'),
      command('teamreg admin user create --name alice --password-stdin --data-dir ./data'),
      command('teamreg admin user create --name bob --role viewer --password-stdin --data-dir ./data'),
      command('teamreg admin user list --data-dir ./data'),
      el('p', {}, 'Setting a new password or disabling a user ends all of that user\'s sessions at once. A disabled user cannot be enabled again; create a new one.'),
      command('teamreg admin user set-password --name alice --password-stdin --data-dir ./data'),
      command('teamreg admin user disable --name bob --data-dir ./data')),
    el('section', { class: 'panel', 'aria-labelledby': 'access-tokens' },
      el('h2', { id: 'access-tokens' }, 'API tokens'),
      el('p', {}, 'Tokens are for scripts that call the admin API with ',
        el('code', {}, 'Authorization: Bearer'), '. A new token is printed once; only its hash is stored.'),
      command('teamreg admin token create --name deploy-bot --data-dir ./data'),
      command('teamreg admin token list --data-dir ./data'),
      command('teamreg admin token revoke --name deploy-bot --data-dir ./data')),
    el('p', { class: 'muted' }, 'See docs/admin.md for every option.'));
}
