// The organizers' console at /admin/, in Chromium, against the real binary: login with users made
// by the CLI, the team review with document previews, sequence, audit, outbox, CSV, roles, the
// session cookie and the CSRF rule, at desktop width and at 360 px, light and dark.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, screenshot, watchPage } from './lib/browser.mjs';
import { jpegBytes, pdfBytes, pngBytes } from './lib/documents.mjs';
import { adminGet, createAdminToken, startServer, teamregBin } from './lib/server.mjs';
import { makeTeam } from './lib/teams.mjs';

const ADMIN = { name: 'alice', password: 'correct horse battery staple' };
const VIEWER = { name: 'victor', password: 'viewer password 12' };
const GENERIC_LOGIN_ERROR = 'Wrong user name or password';
// The browser logs every 4xx answer as a console error; these are the ones the tests provoke (the
// session probe before login, wrong passwords, a name already taken, a refused reset, the viewer's
// and cross-site 403s).
const EXPECTED = [400, 401, 403, 409].map((status) =>
  new RegExp(`Failed to load resource: the server responded with a status of ${status}`));
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 360, height: 740 };

let server;
let browser;
let token;
const teams = {};

/** `teamreg admin user create` with the password on stdin, against the test server's database. */
function createUser(user, role) {
  execFileSync(teamregBin(), ['admin', 'user', 'create', '--name', user.name, '--role', role,
    '--password-stdin', ...server.databaseArgs()], { input: `${user.password}\n`, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Registers a team through the public API with a PDF letter, a PNG receipt and a JPEG photo. */
async function registerWithDocuments(team) {
  const form = new FormData();
  for (const [name, value] of Object.entries(team.fields)) form.append(name, value);
  team.players.forEach((player, i) => {
    form.append(`player_${i}_name`, player.name);
    if (player.role) form.append(`player_${i}_role`, player.role);
  });
  form.append('pastor_letter', new Blob([pdfBytes(team.fields.team_name)], { type: 'application/pdf' }), 'letter.pdf');
  form.append('payment_receipt', new Blob([pngBytes(team.fields.team_name)], { type: 'image/png' }), 'receipt.png');
  form.append('group_photo', new Blob([jpegBytes(team.fields.team_name)], { type: 'image/jpeg' }), 'photo.jpg');
  form.append('player_0_aadhar_file', new Blob([pngBytes('aadhar')], { type: 'image/png' }), 'aadhar.png');
  const response = await fetch(`${server.url}/api/register/team`, { method: 'POST', body: form });
  const body = await response.json();
  assert.equal(response.status, 201, JSON.stringify(body));
  return { ...team, id: body.team_id, name: team.fields.team_name };
}

async function teamStatus(id) {
  const answer = await adminGet(server, token, `/admin/teams/${id}`);
  return answer.body.data.team.registrationStatus;
}

async function sequenceNow() {
  return (await adminGet(server, token, '/admin/sequence/current')).body;
}

/** A new browser context on /admin/ with its console watched. */
async function openConsole({ viewport = DESKTOP, colorScheme = 'light', hash = '' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme, acceptDownloads: true });
  const page = await context.newPage();
  const watch = await watchPage(page);
  await page.goto(`${server.url}/admin/${hash}`);
  return { context, page, watch };
}

/** Signs in through the form with the keyboard only: the user name field has focus at start. */
async function signIn(page, user) {
  const name = page.getByLabel('User name');
  await name.waitFor();
  await page.waitForFunction(() => document.activeElement?.id === 'login-username');
  await page.keyboard.type(user.name);
  await page.keyboard.press('Tab');
  await page.keyboard.type(user.password);
  await page.keyboard.press('Enter');
}

async function assertClean(watch) {
  assert.deepEqual(await watch.problems({ allow: EXPECTED }), []);
}

/** RFC 4180: quoted fields with "" escapes, commas and line breaks inside quotes, CRLF rows. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field); rows.push(row); row = []; field = ''; i++;
    } else field += c;
  }
  if (field || row.length) { row.push(field); rows.push(row); }
  return rows;
}

before(async () => {
  // Mail is on, towards a port where nothing listens, and gives up after one attempt: the outbox
  // then holds given-up mails for the retry button.
  server = await startServer({
    // No failure limit: every new context asks GET /admin/session before logging in.
    args: ['--smtp-url', 'smtp://127.0.0.1:1', '--mail-from', 'noreply@example.org', '--mail-max-attempts', '1',
      '--admin-failure-limit', '0'],
  });
  browser = await launchBrowser();
  token = createAdminToken(server);
  createUser(ADMIN, 'admin');
  createUser(VIEWER, 'viewer');
  teams.review = await registerWithDocuments(makeTeam());
  teams.reject = await registerWithDocuments(makeTeam({ players: 12 }));
  teams.viewer = await registerWithDocuments(makeTeam());
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

describe('console', () => {
  it('shows one generic error for a wrong password or an unknown user, then signs in to the overview', async () => {
    const { context, page, watch } = await openConsole();
    await page.getByRole('heading', { name: 'teamreg console' }).waitFor();
    await screenshot(page, 'console', 'login');
    for (const user of [{ name: ADMIN.name, password: 'not the password' }, { name: 'nobody', password: ADMIN.password }]) {
      await page.getByLabel('User name').fill(user.name);
      await page.getByLabel('Password').fill(user.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('.login-form .notice-error').filter({ hasText: GENERIC_LOGIN_ERROR }).waitFor();
      assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password field is emptied');
    }
    await screenshot(page, 'console', 'login-refused');
    await page.reload();
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.locator('.card-all .card-number').filter({ hasText: '3' }).waitFor();
    assert.match(await page.locator('#user-label').textContent(), /alice \(admin\)/);
    assert.equal(await page.locator('.chart .chart-bar').count() >= 1, true, 'the chart has a bar');
    await screenshot(page, 'console', 'overview');

    // The cookie: HttpOnly, SameSite=Strict, not Secure over http; nothing in web storage.
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'teamreg_session');
    assert.ok(session, JSON.stringify(cookies));
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.secure, false);
    const storage = await page.evaluate(() => ({
      cookie: document.cookie, local: localStorage.length, session: sessionStorage.length,
    }));
    assert.deepEqual(storage, { cookie: '', local: 0, session: 0 });
    await assertClean(watch);
    await context.close();
  });

  it('lists the new team, previews its documents in place and confirms it, with alice in the audit log', async () => {
    const { context, page, watch } = await openConsole({ hash: '#/teams' });
    const documents = [];
    page.on('response', async (response) => {
      const url = new URL(response.url());
      if (url.pathname.includes('/files/') && url.searchParams.get('inline') === '1') {
        // allHeaders(): headers() leaves out some security headers.
        const headers = await response.allHeaders();
        documents.push({
          path: url.pathname, type: response.request().resourceType(), status: response.status(),
          disposition: headers['content-disposition'], csp: headers['content-security-policy'],
        });
      }
    });
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Teams' }).waitFor();
    await page.getByLabel('Search').fill(teams.review.name);
    await page.getByLabel('Search').press('Enter');
    await page.getByText(`1 team matching “${teams.review.name}”.`).waitFor();
    assert.equal(await page.locator('table.data tbody tr').count(), 1);
    await screenshot(page, 'console', 'teams-search');
    await page.getByRole('link', { name: teams.review.id }).click();
    await page.getByRole('heading', { name: new RegExp(teams.review.id) }).waitFor();

    // The PDF in an iframe, the PNG and JPEG in <img>, each from ?inline=1 with 200.
    const letter = page.locator('iframe.doc-pdf');
    await letter.scrollIntoViewIfNeeded();
    await letter.waitFor();
    const receipt = page.getByRole('img', { name: 'Payment receipt' });
    const photo = page.getByRole('img', { name: 'Group photo' });
    for (const image of [receipt, photo]) {
      await image.scrollIntoViewIfNeeded();
      await page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await image.elementHandle());
    }
    assert.equal(await page.locator('iframe.doc-pdf').count(), 1);
    const deadline = Date.now() + 10_000;
    while (!documents.some((d) => d.type === 'document') && Date.now() < deadline) await page.waitForTimeout(100);
    const shown = (field, type) => documents.find((d) => d.path.endsWith(`/files/${field}`) && d.type === type);
    for (const [field, type] of [['pastor_letter', 'document'], ['payment_receipt', 'image'], ['group_photo', 'image']]) {
      const answer = shown(field, type);
      assert.ok(answer, `${field} loaded as ${type}: ${JSON.stringify(documents)}`);
      assert.equal(answer.status, 200);
      assert.match(answer.disposition, new RegExp(`^inline; filename="${teams.review.id}_${field}\\.(pdf|png|jpg)"$`));
      assert.equal(answer.csp, "sandbox; frame-ancestors 'self'");
    }
    assert.ok(page.frames().some((f) => f.url().includes('/files/pastor_letter?inline=1')));
    await page.waitForTimeout(1500); // the PDF viewer draws the page
    await screenshot(page, 'console', 'team');

    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.locator('.actions .notice-success').filter({ hasText: `Team ${teams.review.id} confirmed.` }).waitFor();
    await page.locator('.title-row .badge').filter({ hasText: 'Confirmed' }).waitFor();
    await page.locator('#team-history ~ * tbody tr').filter({ hasText: 'alice' }).filter({ hasText: 'Confirmed' }).waitFor();
    assert.equal(await teamStatus(teams.review.id), 'confirmed');
    await screenshot(page, 'console', 'team-confirmed');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('table.data tbody tr').filter({ hasText: 'alice' }).filter({ hasText: 'Team confirmed' })
      .filter({ hasText: teams.review.id }).filter({ hasText: 'pending → confirmed' }).waitFor();
    await screenshot(page, 'console', 'audit');
    await assertClean(watch);
    await context.close();
  });

  it('rejects a team with a reason in a dialog, then un-rejects it', async () => {
    const { context, page, watch } = await openConsole({ hash: `#/teams/${teams.reject.id}` });
    await signIn(page, ADMIN);
    await page.getByRole('button', { name: 'Reject…' }).click();
    const dialog = page.getByRole('dialog', { name: `Reject ${teams.reject.id}?` });
    await dialog.waitFor();
    await dialog.getByLabel('Reason').fill('The pastor letter is not signed');
    await screenshot(page, 'console', 'reject-dialog');
    await dialog.getByRole('button', { name: 'Reject team' }).click();
    await page.locator('.actions .notice-success').filter({ hasText: `Team ${teams.reject.id} rejected.` }).waitFor();
    assert.equal(await dialog.count(), 0);
    await page.locator('.facts dd').filter({ hasText: 'The pastor letter is not signed' }).waitFor();
    assert.equal(await teamStatus(teams.reject.id), 'rejected');
    const audit = (await adminGet(server, token, '/admin/audit?limit=20')).body.data;
    const entry = audit.find((e) => e.action === 'team.reject' && e.subject === teams.reject.id);
    assert.deepEqual([entry?.actor, entry?.detail], ['alice', 'The pastor letter is not signed'], JSON.stringify(audit));
    await screenshot(page, 'console', 'team-rejected');

    await page.getByRole('button', { name: 'Un-reject (confirm)' }).click();
    await page.locator('.actions .notice-success').filter({ hasText: `Team ${teams.reject.id} confirmed.` }).waitFor();
    assert.equal(await teamStatus(teams.reject.id), 'confirmed');
    await assertClean(watch);
    await context.close();
  });

  it('downloads the CSV, which parses into a header and a row per player', async () => {
    const { context, page, watch } = await openConsole();
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download CSV' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'teams.csv');
    const rows = parseCsv(readFileSync(await download.path(), 'utf8'));
    const [header, ...data] = rows;
    assert.equal(header[0], 'team_id');
    assert.ok(header.includes('player_name'), header.join(','));
    assert.equal(data.length, 11 + 12 + 11, `one row per player: ${data.length}`);
    for (const row of data) assert.equal(row.length, header.length);
    const ids = new Set(data.map((row) => row[0]));
    assert.deepEqual([...ids].sort(), [teams.review.id, teams.reject.id, teams.viewer.id].sort());
    await assertClean(watch);
    await context.close();
  });

  it('refuses a reset below the highest issued number in words, and checks the typed confirmation', async () => {
    const before = await sequenceNow();
    const { context, page, watch } = await openConsole({ hash: '#/sequence' });
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Sequence' }).waitFor();
    await page.getByLabel('New sequence number').fill('1');
    await page.getByLabel('Type the new number again to confirm').fill('2');
    await page.getByRole('button', { name: 'Reset the sequence' }).click();
    await page.getByText('The two numbers differ.').waitFor();
    await page.getByLabel('Type the new number again to confirm').fill('1');
    await page.getByRole('button', { name: 'Reset the sequence' }).click();
    const refusal = page.locator('.notice-error').filter({ hasText: 'Refused' });
    await refusal.waitFor();
    const text = await refusal.textContent();
    assert.match(text, new RegExp(`${before.next_team_id.replace(/\d+$/, '')}\\d+ is already issued`));
    assert.match(text, new RegExp(`Choose ${before.highest_issued} or more; nothing was changed`));
    await screenshot(page, 'console', 'sequence-refused');
    assert.deepEqual(await sequenceNow(), before);

    const target = before.highest_issued + 5;
    await page.getByLabel('New sequence number').fill(String(target));
    await page.getByLabel('Type the new number again to confirm').fill(String(target));
    await page.getByRole('button', { name: 'Reset the sequence' }).click();
    await page.locator('.notice-success').filter({ hasText: '5 numbers will never be issued.' }).waitFor();
    assert.equal((await sequenceNow()).current_number, target);
    await page.locator('#seq-current').filter({ hasText: String(target) }).waitFor();
    await page.getByRole('button', { name: 'Sync with the teams' }).click();
    await page.getByText(`Nothing to do: the sequence (${target}) is not behind the teams.`).waitFor();
    await assertClean(watch);
    await context.close();
  });

  it('retries a given-up mail from the outbox', async () => {
    // The registrations' mails fail at once (nothing listens on port 1) and are given up.
    const deadline = Date.now() + 30_000;
    while ((await adminGet(server, token, '/admin/outbox?status=dead')).body.total === 0) {
      assert.ok(Date.now() < deadline, 'no mail was given up within 30 s');
      await new Promise((resolve) => { setTimeout(resolve, 200); });
    }
    const { context, page, watch } = await openConsole({ hash: '#/outbox?status=dead' });
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Mail outbox' }).waitFor();
    const retry = page.getByRole('button', { name: /^Retry mail \d+ to / }).first();
    await retry.waitFor();
    await screenshot(page, 'console', 'outbox');
    await retry.click();
    await page.locator('.notice-success').filter({ hasText: /is waiting to be sent again|was already waiting/ }).waitFor();
    const audit = (await adminGet(server, token, '/admin/audit?limit=20')).body.data;
    assert.ok(audit.some((e) => e.action === 'outbox.retry' && e.actor === 'alice'), JSON.stringify(audit));
    await assertClean(watch);
    await context.close();
  });

  it('gives a viewer no change buttons, and the server refuses the viewer anyway', async () => {
    const { context, page, watch } = await openConsole({ hash: `#/teams/${teams.viewer.id}` });
    await signIn(page, VIEWER);
    await page.getByRole('heading', { name: new RegExp(teams.viewer.id) }).waitFor();
    await page.getByText('You are signed in as a viewer').waitFor();
    assert.equal(await page.getByRole('button', { name: /Confirm|Reject/ }).count(), 0);
    await screenshot(page, 'console', 'team-viewer');
    const refused = await page.request.put(`${server.url}/admin/teams/${teams.viewer.id}/confirm`, {
      headers: { Origin: server.url },
    });
    assert.equal(refused.status(), 403);
    assert.equal((await refused.json()).error_code, 'FORBIDDEN');
    assert.equal(await teamStatus(teams.viewer.id), 'pending');
    await page.getByRole('link', { name: 'Sequence' }).click();
    await page.getByText('resetting and syncing the sequence need an admin account').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Reset the sequence' }).count(), 0);
    // Users and tokens are for admins only, reads included.
    await page.getByRole('link', { name: 'Users and tokens' }).click();
    await page.getByText('Only admins can see and manage console users and API tokens').waitFor();
    assert.equal(await page.locator('table').count(), 0);
    assert.equal(await page.getByRole('button', { name: /Add user|Create token/ }).count(), 0);
    for (const path of ['/admin/users', '/admin/tokens']) {
      const answer = await page.request.get(`${server.url}${path}`);
      assert.equal(answer.status(), 403, path);
    }
    await assertClean(watch);
    await context.close();
  });

  it('refuses a cross-site change made with the session cookie, and changes nothing', async () => {
    const { context, page, watch } = await openConsole();
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const before = await sequenceNow();
    for (const [method, path] of [['post', '/admin/sequence/reset?new_number=900'], ['put', `/admin/teams/${teams.viewer.id}/confirm`]]) {
      const answer = await page.request[method](`${server.url}${path}`, { headers: { Origin: 'https://evil.example' } });
      assert.equal(answer.status(), 403, path);
      assert.equal((await answer.json()).error_code, 'CSRF_REJECTED', path);
    }
    assert.deepEqual(await sequenceNow(), before);
    assert.equal(await teamStatus(teams.viewer.id), 'pending');
    await assertClean(watch);
    await context.close();
  });

  it('adds a user with the errors named next to their field, sets a password and disables the user', async () => {
    const walter = { name: 'walter', password: 'walter first passphrase' };
    const { context, page, watch } = await openConsole({ hash: '#/access' });
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Users and tokens' }).waitFor();
    const form = page.locator('form[aria-labelledby="add-user-title"]');
    const name = form.getByLabel('User name');
    const password = form.getByLabel('Password', { exact: true });
    const again = form.getByLabel('Password again');
    const notice = form.locator('.notice');
    const add = form.getByRole('button', { name: 'Add user' });
    // Checked in the page first: the name, then the length, then the repeat.
    await name.fill('walter white');
    await add.click();
    await notice.filter({ hasText: 'without spaces' }).waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    await name.fill(walter.name);
    assert.equal(await name.getAttribute('aria-invalid'), null, 'editing clears the mark');
    await password.fill('too short');
    await again.fill('too short');
    await add.click();
    await notice.filter({ hasText: 'at least 12 characters' }).waitFor();
    assert.equal(await password.getAttribute('aria-invalid'), 'true');
    await password.fill(walter.password);
    await again.fill('something else entirely');
    await add.click();
    await notice.filter({ hasText: 'The two passwords differ' }).waitFor();
    assert.equal(await again.getAttribute('aria-invalid'), 'true');
    // Checked by the server: a taken name comes back as details.field = name.
    await name.fill(ADMIN.name);
    await password.fill(walter.password);
    await again.fill(walter.password);
    await add.click();
    await notice.filter({ hasText: /taken|already|used/i }).waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-user-name');
    await screenshot(page, 'console', 'access-user-error');
    await name.fill(walter.name);
    await form.getByLabel('Role').selectOption('viewer');
    await password.fill(walter.password);
    await again.fill(walter.password);
    await add.click();
    await notice.filter({ hasText: 'walter can now sign in as a viewer' }).waitFor();
    const row = page.locator('tr', { has: page.getByText(walter.name, { exact: true }) });
    await row.getByText('Viewer').waitFor();
    await screenshot(page, 'console', 'access');

    // Walter signs in elsewhere; a new password ends that session.
    const other = await openConsole({ hash: '#/overview' });
    await signIn(other.page, walter);
    await other.page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.getByRole('button', { name: 'Set a new password for walter' }).click();
    const pwDialog = page.getByRole('dialog', { name: 'New password for walter' });
    await pwDialog.getByLabel('New password', { exact: true }).fill('walter second passphrase');
    await pwDialog.getByLabel('New password again').fill('walter second passphrase');
    await screenshot(page, 'console', 'access-password-dialog');
    await pwDialog.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('walter has a new password; their sessions have ended.').waitFor();
    await other.page.getByRole('link', { name: 'Sequence' }).click();
    await other.page.getByText('Your session has ended. Sign in again to continue.').waitFor();
    walter.password = 'walter second passphrase';
    await signIn(other.page, walter);
    await other.page.getByRole('heading', { name: 'Sequence' }).waitFor();

    // Disabled: signed out at once. Alice cannot disable herself from here.
    assert.equal(await page.getByRole('button', { name: `Disable ${ADMIN.name}` }).count(), 0);
    await page.getByRole('button', { name: 'Disable walter' }).click();
    const disable = page.getByRole('dialog', { name: 'Disable walter?' });
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
    await disable.getByRole('button', { name: 'Disable user' }).click();
    await page.getByText('walter is disabled and signed out.').waitFor();
    await row.getByText('Disabled').waitFor();
    await other.page.getByRole('link', { name: 'Audit log' }).click();
    await other.page.getByText('Your session has ended. Sign in again to continue.').waitFor();
    const users = (await adminGet(server, token, '/admin/users')).body.data;
    assert.equal(users.find((u) => u.name === 'walter').active, false);
    const audit = (await adminGet(server, token, '/admin/audit?limit=50')).body.data;
    for (const action of ['user.create', 'user.password', 'user.disable']) {
      assert.ok(audit.some((e) => e.action === action && e.actor === ADMIN.name && e.subject === 'walter'), action);
    }
    await assertClean(other.watch);
    await other.context.close();
    await assertClean(watch);
    await context.close();
  });

  it('creates an API token that is shown once and works, then revokes it', async () => {
    const { context, page, watch } = await openConsole({ hash: '#/access' });
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Users and tokens' }).waitFor();
    await page.getByLabel('Token name').fill('ci-bot');
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByRole('region', { name: 'Token ci-bot' });
    await shown.getByText('it is shown only this once').waitFor();
    const value = await shown.getByLabel('New token').inputValue();
    assert.match(value, /^[0-9a-f]{64}$/);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'new-token-value');
    await screenshot(page, 'console', 'access-token-once');
    const used = await fetch(`${server.url}/admin/sequence/current`, { headers: { Authorization: `Bearer ${value}` } });
    assert.equal(used.status, 200);
    // Gone for good once the page is drawn again.
    await page.reload();
    await page.getByRole('heading', { name: 'Users and tokens' }).waitFor();
    const row = page.locator('tr', { has: page.getByText('ci-bot', { exact: true }) });
    await row.getByText('Active').waitFor();
    assert.equal((await page.content()).includes(value), false);
    await page.getByRole('button', { name: 'Revoke ci-bot' }).click();
    await page.getByRole('dialog', { name: 'Revoke the token ci-bot?' }).getByRole('button', { name: 'Revoke token' }).click();
    await page.getByText('The token ci-bot is revoked.').waitFor();
    await row.getByText('Revoked').first().waitFor();
    const refused = await fetch(`${server.url}/admin/sequence/current`, { headers: { Authorization: `Bearer ${value}` } });
    assert.equal(refused.status, 401);
    const audit = (await adminGet(server, token, '/admin/audit?limit=50')).body.data;
    assert.ok(audit.some((e) => e.action === 'token.create' && e.actor === ADMIN.name && e.subject === 'ci-bot'));
    assert.ok(audit.some((e) => e.action === 'token.revoke' && e.actor === ADMIN.name && e.subject === 'ci-bot'));
    await assertClean(watch);
    await context.close();
  });

  it('returns to the login page on any 401, and back to the same page after signing in', async () => {
    const { context, page, watch } = await openConsole({ hash: '#/audit' });
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    // The session ends behind the page's back (as after an idle timeout or a new password).
    const ended = await page.request.delete(`${server.url}/admin/session`, { headers: { Origin: server.url } });
    assert.equal(ended.status(), 200);
    await page.getByRole('link', { name: 'Sequence' }).click();
    await page.getByText('Your session has ended. Sign in again to continue.').waitFor();
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Sequence' }).waitFor();
    await assertClean(watch);
    await context.close();
  });

  it('logs out: every console page shows the login page again', async () => {
    const { context, page, watch } = await openConsole({ hash: '#/teams' });
    await signIn(page, ADMIN);
    await page.getByRole('heading', { name: 'Teams' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You have logged out.').waitFor();
    assert.equal((await page.request.get(`${server.url}/admin/session`)).status(), 401);
    for (const hash of ['#/overview', `#/teams/${teams.review.id}`, '#/sequence', '#/audit']) {
      await page.goto(`${server.url}/admin/${hash}`);
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
      assert.equal(await page.locator('#topbar').isVisible(), false);
    }
    await screenshot(page, 'console', 'logged-out');
    await assertClean(watch);
    await context.close();
  });

  for (const [label, viewport, colorScheme] of [['desktop', DESKTOP, 'light'], ['phone', PHONE, 'light'], ['dark', DESKTOP, 'dark']]) {
    it(`shows every page without overflow (${label})`, async () => {
      const { context, page, watch } = await openConsole({ viewport, colorScheme });
      await signIn(page, ADMIN);
      await page.getByRole('heading', { name: 'Overview' }).waitFor();
      const pages = [['overview', 'Overview'], ['teams', 'Teams'], [`teams/${teams.reject.id}`, teams.reject.id],
        ['sequence', 'Sequence'], ['audit', 'Audit log'], ['outbox', 'Mail outbox'], ['access', 'Users and tokens']];
      for (const [hash, heading] of pages) {
        await page.goto(`${server.url}/admin/#/${hash}`);
        await page.getByRole('heading', { level: 1, name: new RegExp(heading) }).waitFor();
        // Drawn, and every document preview has found out what to show (not 'networkidle': the
        // PDF viewer's own traffic need not settle).
        await page.waitForFunction(() => !document.querySelector('main[aria-busy]')
          && !document.querySelector('.doc-preview > p.muted'));
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${hash} is ${overflow} px wider than the ${label} window`);
        await screenshot(page, 'console', `${label}-${hash.replace('/', '-')}`);
      }
      await assertClean(watch);
      await context.close();
    });
  }
});
