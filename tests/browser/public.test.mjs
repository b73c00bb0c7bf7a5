// The public registration page at `/`, in Chromium, against the real binary.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, screenshot, watchPage } from './lib/browser.mjs';
import { jpegBytes, pdfBytes, pngBytes, upload } from './lib/documents.mjs';
import { adminGet, createAdminToken, startServer } from './lib/server.mjs';
import { makeTeam, registerByApi, uniqueWord } from './lib/teams.mjs';

const TEAM_ID = /^ICCT-\d{3,}$/;
// The browser logs every 4xx/5xx answer as a console error; a test that provokes one allows it.
const REFUSED = (status) => new RegExp(`Failed to load resource: the server responded with a status of ${status}`);

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** A fresh page on `/` with its console watched and its registration POSTs recorded. */
async function openPage({ viewport = { width: 1024, height: 900 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  const watch = await watchPage(page);
  const posts = [];
  page.on('request', (request) => {
    if (request.method() === 'POST' && new URL(request.url()).pathname === '/api/register/team') {
      posts.push({ key: request.headers()['idempotency-key'] });
    }
  });
  // The field names of every FormData the page sends (the browser does not expose multipart
  // bodies with files to the test).
  await page.addInitScript(() => {
    window.__sentFields = [];
    const send = XMLHttpRequest.prototype.send;
    XMLHttpRequest.prototype.send = function (body) {
      if (body instanceof FormData) window.__sentFields.push([...body.keys()]);
      return send.call(this, body);
    };
  });
  await page.goto(`${server.url}/`);
  await page.locator('#player_10_name').waitFor();
  return { page, watch, posts, close: () => context.close() };
}

async function assertClean(watch, allow = []) {
  assert.deepEqual(await watch.problems({ allow }), []);
}

/** Types a team into the form; files: {pastor_letter, payment_receipt, group_photo, players: [{aadhar, subscription}]}. */
async function fillForm(page, team, files = {}) {
  for (const [id, value] of Object.entries(team.fields)) await page.fill(`#${id}`, value);
  const rows = await page.locator('.player').count();
  for (let i = rows; i < team.players.length; i++) await page.click('#add-player');
  for (const [i, player] of team.players.entries()) {
    await page.fill(`#player_${i}_name`, player.name);
    await page.selectOption(`#player_${i}_role`, player.role);
    const docs = files.players?.[i];
    if (docs?.aadhar) await page.setInputFiles(`#player_${i}_aadhar_file`, docs.aadhar);
    if (docs?.subscription) await page.setInputFiles(`#player_${i}_subscription_file`, docs.subscription);
  }
  for (const name of ['pastor_letter', 'payment_receipt', 'group_photo']) {
    if (files[name]) await page.setInputFiles(`#${name}`, files[name]);
  }
}

async function fieldError(page, id) {
  const error = page.locator(`#${id}-error`);
  return { visible: await error.isVisible(), text: (await error.textContent()).trim(),
    invalid: await page.getAttribute(`#${id}`, 'aria-invalid') };
}

async function focusedId(page) {
  return page.evaluate(() => document.activeElement?.id);
}

async function assertNoHorizontalOverflow(page, width) {
  const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(scrollWidth <= width, `page is ${scrollWidth}px wide on a ${width}px screen`);
}

function minimalFiles(tag) {
  return { pastor_letter: upload('letter.pdf', pdfBytes(tag)) };
}

describe('public registration page', () => {
  it('registers 15 players with every document after the server refuses a duplicate captain e-mail', async () => {
    const { page, watch, posts, close } = await openPage();
    const taken = makeTeam();
    const first = await registerByApi(server, taken);
    assert.equal(first.status, 201, JSON.stringify(first.body));

    const team = makeTeam({ players: 15, captain_email: taken.fields.captain_email.toUpperCase() });
    const files = {
      pastor_letter: upload('pastor-letter.pdf', pdfBytes('pastor letter')),
      payment_receipt: upload('receipt.png', pngBytes('receipt')),
      group_photo: upload('team.jpg', jpegBytes('group photo')),
      players: team.players.map((_, i) => ({
        aadhar: upload(`aadhar-${i}.png`, pngBytes(`aadhar ${i}`)),
        subscription: upload(`subscription-${i}.pdf`, pdfBytes(`subscription ${i}`)),
      })),
    };
    await fillForm(page, team, files);
    assert.equal(await page.locator('#add-player').isDisabled(), true, '15 players is the most');
    await screenshot(page, 'full', '1-form');

    await page.click('#to-review');
    await page.locator('#review-step').waitFor();
    const review = await page.textContent('#review');
    for (const text of [team.fields.team_name, team.fields.church_name, team.players[14].name,
      'pastor-letter.pdf', 'receipt.png', 'team.jpg', 'subscription-14.pdf']) {
      assert.ok(review.includes(text), `review shows ${text}`);
    }
    await screenshot(page, 'full', '2-review');

    await page.click('#submit');
    await page.locator('#captain_email-error').waitFor();
    assert.equal(await page.isVisible('#form-step'), true, 'back on the form');
    const error = await fieldError(page, 'captain_email');
    assert.match(error.text, /already registered with this captain e-mail/);
    assert.equal(error.invalid, 'true');
    assert.equal(await focusedId(page), 'captain_email');
    assert.match(await page.textContent('#notice'), /not accepted/);
    await screenshot(page, 'full', '3-refused');

    await page.fill('#captain_email', `other.${team.fields.captain_email}`);
    assert.equal((await fieldError(page, 'captain_email')).visible, false, 'the error goes once the field is fixed');
    await page.click('#to-review');
    await page.click('#submit');
    await page.locator('#done-step').waitFor();
    const teamId = (await page.textContent('#done-team-id')).trim();
    assert.match(teamId, TEAM_ID);
    assert.equal((await page.textContent('#done-team-name')).trim(), team.fields.team_name);
    assert.match(await page.textContent('#done-step'), /Pending review/);
    await screenshot(page, 'full', '4-done');

    // Exactly the API's field names, and a new Idempotency-Key once the form changed.
    assert.equal(posts.length, 2);
    assert.notEqual(posts[0].key, posts[1].key);
    const sent = (await page.evaluate(() => window.__sentFields))[1];
    const expected = ['team_name', 'church_name', 'captain_name', 'captain_phone', 'captain_email',
      'captain_whatsapp', 'vice_name', 'vice_phone', 'vice_email', // vice_whatsapp is empty: left out
      ...team.players.flatMap((_, i) => [`player_${i}_name`, `player_${i}_role`, `player_${i}_aadhar_file`,
        `player_${i}_subscription_file`]).filter((f) => !/^player_(4|9|14)_role$/.test(f)), // no role
      'pastor_letter', 'payment_receipt', 'group_photo'];
    assert.deepEqual([...sent].sort(), [...expected].sort());

    const token = createAdminToken(server);
    const detail = await adminGet(server, token, `/admin/teams/${teamId}`);
    assert.equal(detail.status, 200);
    const stored = detail.body.data;
    assert.equal(stored.team.teamName, team.fields.team_name);
    assert.equal(stored.team.captain.email, `other.${team.fields.captain_email}`.toLowerCase());
    assert.equal(stored.players.length, 15);
    assert.deepEqual(stored.players.map((p) => p.name), team.players.map((p) => p.name));
    assert.deepEqual(stored.players.map((p) => p.role || ''), team.players.map((p) => p.role));
    const documents = [
      [stored.team.pastorLetter, files.pastor_letter.buffer],
      [stored.team.paymentReceipt, files.payment_receipt.buffer],
      [stored.team.groupPhoto, files.group_photo.buffer],
      ...stored.players.flatMap((p, i) => [[p.aadharFile, files.players[i].aadhar.buffer],
        [p.subscriptionFile, files.players[i].subscription.buffer]]),
    ];
    assert.equal(documents.length, 33);
    for (const [url, bytes] of documents) {
      assert.ok(url, 'every document is stored');
      const file = await adminGet(server, token, new URL(url, server.url).pathname);
      assert.equal(file.status, 200, url);
      assert.ok(Buffer.compare(file.body, bytes) === 0, `${url} holds the uploaded bytes`);
    }
    await assertClean(watch, [REFUSED(409)]);
    await close();
  });

  it('refuses a wrong file type, a too-large file and invalid text before uploading', async () => {
    const { page, watch, posts, close } = await openPage();
    await fillForm(page, makeTeam(), minimalFiles('ok'));

    await page.setInputFiles('#pastor_letter', upload('letter.pdf', pdfBytes('big', 5 * 1024 * 1024)));
    await page.locator('#pastor_letter-error').waitFor();
    assert.match((await fieldError(page, 'pastor_letter')).text, /letter\.pdf is larger than 5 MB/);
    await page.setInputFiles('#group_photo', upload('photo.png', Buffer.from('GIF89a not really a png'), 'image/png'));
    await page.locator('#group_photo-error').waitFor();
    assert.match((await fieldError(page, 'group_photo')).text, /photo\.png is not a PDF, PNG or JPEG file/);
    await page.setInputFiles('#player_2_aadhar_file', upload('aadhar.txt', Buffer.from('hello'), 'text/plain'));
    await page.locator('#player_2_aadhar_file-error').waitFor();
    assert.equal((await fieldError(page, 'player_2_aadhar_file')).invalid, 'true');

    await page.fill('#team_name', 'AB');
    await page.fill('#captain_phone', '12345');
    await page.fill('#vice_email', 'vice@example');
    await page.fill('#player_4_name', 'R2D2');
    await page.click('#to-review');
    assert.equal(await page.isVisible('#review-step'), false, 'invalid forms are not reviewed');
    assert.equal(await focusedId(page), 'team_name', 'the first invalid field has the focus');
    assert.match((await fieldError(page, 'team_name')).text, /3–80 characters long \(now 2\)/);
    assert.match((await fieldError(page, 'captain_phone')).text, /10 digits/);
    assert.match((await fieldError(page, 'vice_email')).text, /valid vice-captain's e-mail/);
    assert.match((await fieldError(page, 'player_4_name')).text, /may only contain letters/);
    assert.match((await fieldError(page, 'pastor_letter')).text, /larger than 5 MB/);
    assert.match(await page.getAttribute('#team_name', 'aria-describedby'), /team_name-error/);
    await screenshot(page, 'client-checks', '1-errors');

    await page.setInputFiles('#pastor_letter', upload('letter.pdf', pdfBytes('fine')));
    await page.locator('#pastor_letter-error').waitFor({ state: 'hidden' });
    await page.setInputFiles('#pastor_letter', []);
    await page.click('#to-review');
    assert.match((await fieldError(page, 'pastor_letter')).text, /Choose the pastor's letter/);
    assert.equal(posts.length, 0, 'nothing was uploaded');
    await assertClean(watch);
    await close();
  });

  it('will not submit a church that already has its teams', async () => {
    const word = uniqueWord();
    const full = makeTeam({ church_name: `St. Thomas' Church of ${word}` });
    for (const captain of ['Anna', 'Beth']) {
      const made = makeTeam({ church_name: full.fields.church_name, captain_name: `Captain ${captain}` });
      const result = await registerByApi(server, made);
      assert.equal(result.status, 201, JSON.stringify(result.body));
    }
    const grace = `Grace Chapel of ${word}`;
    const open = makeTeam({ church_name: grace });
    assert.equal((await registerByApi(server, makeTeam({ church_name: grace }))).status, 201);

    const { page, watch, posts, close } = await openPage();
    const suggestions = await page.locator('#church-list option').evaluateAll((options) => options.map((o) => o.value));
    assert.ok(suggestions.includes(grace), 'a church with room is suggested');
    assert.ok(!suggestions.includes(full.fields.church_name), 'a full church is not suggested');

    // Spelled differently, as the server compares: case, spaces and apostrophe look-alikes.
    const respelled = `st. thomas\u2019  CHURCH of ${word.toUpperCase()}`;
    await fillForm(page, { ...full, fields: { ...full.fields, church_name: respelled } }, minimalFiles('c'));
    const error = await fieldError(page, 'church_name');
    assert.equal(error.visible, true, 'said before any submit');
    assert.match(error.text, /already has 2 teams/);
    await page.click('#to-review');
    assert.equal(await page.isVisible('#review-step'), false);
    assert.equal(await focusedId(page), 'church_name');
    await screenshot(page, 'church', '1-full');
    assert.equal(posts.length, 0);

    // A church that fills up while the page is open: the server refuses, named next to the field.
    await fillForm(page, open, minimalFiles('c2'));
    assert.equal((await fieldError(page, 'church_name')).visible, false);
    await page.click('#to-review');
    await page.locator('#review-step').waitFor();
    assert.equal((await registerByApi(server, makeTeam({ church_name: grace }))).status, 201);
    await page.click('#submit');
    await page.locator('#church_name-error').waitFor();
    assert.match((await fieldError(page, 'church_name')).text, /Maximum 2 teams already registered for this church/);
    assert.equal(await focusedId(page), 'church_name');
    await page.fill('#church_name', grace.replace(' ', '  ').toLowerCase());
    await page.waitForFunction(() => /already has 2 teams/.test(document.getElementById('church_name-error').textContent));
    await assertClean(watch, [REFUSED(409)]);
    await close();
  });

  it('fits a 360 px phone, in light and dark, from the form to the team ID', async () => {
    const church = `St. Peter's Church of the Very Long Name in Thiruvananthapuram ${uniqueWord()}`;
    for (const colorScheme of ['light', 'dark']) {
      const { page, watch, close } = await openPage({ viewport: { width: 360, height: 740 }, colorScheme });
      await screenshot(page, `phone-${colorScheme}`, '1-top');
      await assertNoHorizontalOverflow(page, 360);
      const team = makeTeam({ church_name: church });
      await fillForm(page, team, {
        ...minimalFiles('phone'),
        players: [{ aadhar: upload('a-very-long-file-name-for-an-aadhaar-card-scan.pdf', pdfBytes('a')) }],
      });
      await page.fill('#captain_phone', '12');
      await page.click('#to-review');
      await screenshot(page, `phone-${colorScheme}`, '2-form-error');
      await assertNoHorizontalOverflow(page, 360);
      await page.fill('#captain_phone', `+91 ${team.fields.captain_phone}`);
      await page.click('#to-review');
      await page.locator('#review-step').waitFor();
      await screenshot(page, `phone-${colorScheme}`, '3-review');
      await assertNoHorizontalOverflow(page, 360);
      await page.click('#submit');
      await page.locator('#done-step').waitFor();
      assert.match((await page.textContent('#done-team-id')).trim(), TEAM_ID);
      await screenshot(page, `phone-${colorScheme}`, '4-done');
      await assertNoHorizontalOverflow(page, 360);
      await assertClean(watch);
      await close();
    }
  });

  it('runs without console errors or CSP violations, every control labelled', async () => {
    const response = await fetch(`${server.url}/`);
    assert.match(response.headers.get('content-security-policy'), /script-src 'self'; style-src 'self'/);
    const { page, watch, close } = await openPage();
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter((c) => c.labels.length === 0).map((c) => c.id || c.outerHTML));
    assert.deepEqual(unlabelled, []);
    const ids = await page.evaluate(() => [...document.querySelectorAll('[id]')].map((e) => e.id));
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');

    // Keyboard only: add a player, remove one, and the focus lands somewhere sensible each time.
    await page.focus('#add-player');
    await page.keyboard.press('Enter');
    assert.equal(await focusedId(page), 'player_11_name');
    assert.equal(await page.locator('.player').count(), 12);
    await page.focus('#player_11_name');
    await page.keyboard.press('Tab'); // role
    await page.keyboard.press('Tab'); // aadhaar
    await page.keyboard.press('Tab'); // subscription
    await page.keyboard.press('Tab'); // remove
    assert.equal(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), 'Remove player 12');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('.player').count(), 11);
    assert.equal(await page.locator('.remove-player:visible').count(), 0, '11 players is the fewest');

    const team = makeTeam();
    await fillForm(page, team, minimalFiles('clean'));
    await page.focus('#vice_email');
    await page.keyboard.press('Enter'); // Enter in a text field submits the form: to the review
    await page.locator('#review-step').waitFor();
    await page.click('#submit');
    await page.locator('#done-step').waitFor();
    await assertClean(watch);
    await close();
  });

  it('reuses the Idempotency-Key when retrying after a network failure or a 503', async () => {
    const { page, watch, posts, close } = await openPage();
    let attempt = 0;
    await page.route('**/api/register/team', async (route) => {
      attempt += 1;
      if (attempt === 1) return route.abort('failed');
      if (attempt === 2) {
        return route.fulfill({ status: 503, headers: { 'Retry-After': '1', 'Content-Type': 'application/json' },
          body: JSON.stringify({ success: false, error_code: 'SERVICE_UNAVAILABLE', message: 'Service unavailable',
            details: {}, request_id: 'test' }) });
      }
      return route.continue();
    });
    const team = makeTeam();
    await fillForm(page, team, minimalFiles('retry'));
    await page.click('#to-review');
    await page.click('#submit');
    await page.locator('#retry-notice').waitFor();
    assert.match(await page.textContent('#retry-notice'), /could not reach the server/);
    await screenshot(page, 'retry', '1-network-failure');
    assert.equal(await page.isVisible('#review-step'), true, 'still on the review, ready to retry');

    await page.click('#submit');
    await page.waitForFunction(() => /wait 1 second,/.test(document.getElementById('retry-notice').textContent));
    assert.equal(await page.isDisabled('#submit'), true, 'no retry before Retry-After');
    await page.waitForFunction(() => !document.getElementById('submit').disabled);
    await page.click('#submit');
    await page.locator('#done-step').waitFor();

    assert.equal(posts.length, 3);
    assert.equal(new Set(posts.map((p) => p.key)).size, 1, 'one key for the three attempts');
    assert.match(posts[0].key, /^[0-9a-f-]{36}$/);
    const teams = await (await fetch(`${server.url}/api/teams?limit=200`)).json();
    assert.equal(teams.teams.filter((t) => t.team_name === team.fields.team_name).length, 1);
    await assertClean(watch, [REFUSED(503), /net::ERR_FAILED/]);
    await close();
  });
});
