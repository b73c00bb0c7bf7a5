// The public registration page: form → review → submit → team ID. Uses only the public API.
// Every input's id is its API field name (team_name, player_3_name, …), so an error the server
// names in details.field lands next to the input with that id.
import {
  MAX_PLAYERS, MIN_PLAYERS, checkEmail, checkFile, checkPhone, checkRole, checkText, churchKey, trim,
} from './rules.js';
import { renderReview } from './review.js';
import { IdempotencyKeys, fingerprintOf, isRetryable, send } from './upload.js';

const $ = (id) => document.getElementById(id);
const form = $('registration');
const playerList = $('player-list');
const steps = { form: $('form-step'), review: $('review-step'), done: $('done-step') };
const keys = new IdempotencyKeys();
const fileChecks = new Map(); // file input → Promise of its message ('' when the file is fine)
let churches = new Map(); // churchKey → {church_name, team_count, locked}

const PEOPLE = { captain: "captain's", vice: "vice-captain's" };
const DOCUMENT_LABELS = {
  pastor_letter: "pastor's letter", payment_receipt: 'payment receipt', group_photo: 'group photo',
  aadhar_file: 'Aadhaar card', subscription_file: 'subscription',
};
const MAX_RETRY_WAIT_S = 120;

// ---- messages and fields ------------------------------------------------------------------

function announce(text) {
  const announcer = $('announcer');
  announcer.textContent = '';
  // A fresh text node after a tick, so the same sentence twice is announced twice.
  setTimeout(() => { announcer.textContent = text; }, 50);
}

// Notices are role="alert" regions that stay in the page (empty and invisible when there is
// nothing to say), so that screen readers announce each new text: #notice above the form for
// refusals, #retry-notice beside the Submit button for failures worth retrying.
function showNotice(text, where = 'notice') {
  $('notice').textContent = '';
  $('retry-notice').textContent = '';
  $(where).textContent = text;
}

function showError(input, message) {
  const error = $(`${input.id}-error`);
  if (error) {
    error.textContent = message;
    error.hidden = !message;
  }
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

/** The client-side message for a text or select field, '' when valid. */
function textMessage(id, value) {
  if (id === 'team_name') return checkText('team', 'team name', value);
  if (id === 'church_name') return checkText('church', 'church name', value) || lockedChurchMessage(value);
  let match = /^(captain|vice)_(name|phone|email|whatsapp)$/.exec(id);
  if (match) {
    const who = PEOPLE[match[1]];
    switch (match[2]) {
      case 'name': return checkText('person', `${who} name`, value);
      case 'phone': return checkPhone(`${who} phone number`, value);
      case 'email': return checkEmail(`${who} e-mail address`, value);
      default: return checkPhone(`${who} WhatsApp number`, value, { optional: true });
    }
  }
  match = /^player_(\d+)_(name|role)$/.exec(id);
  if (match) {
    return match[2] === 'name' ? checkText('player', `name of player ${Number(match[1]) + 1}`, value) : checkRole(value);
  }
  return '';
}

function documentLabel(input) {
  const part = input.dataset.field || input.id;
  const label = DOCUMENT_LABELS[part] || part;
  const player = /^player_(\d+)_/.exec(input.id);
  return player ? `${label} of player ${Number(player[1]) + 1}` : label;
}

/** The message for a file input, '' when valid (checks reading the file run once per choice). */
async function fileMessage(input) {
  const file = input.files[0];
  if (!file) return input.required ? `Choose the ${documentLabel(input)}.` : '';
  if (!fileChecks.has(input)) fileChecks.set(input, checkFile(file));
  return fileChecks.get(input);
}

async function messageFor(input) {
  return input.type === 'file' ? fileMessage(input) : textMessage(input.id, trim(input.value));
}

async function validate(input) {
  const message = await messageFor(input);
  showError(input, message);
  return message;
}

function fieldInputs() {
  return [...form.querySelectorAll('input[id], select[id]')];
}

/** Checks every field; shows each message; returns the invalid inputs in page order. */
async function validateAll() {
  const inputs = fieldInputs();
  const messages = await Promise.all(inputs.map(validate));
  return inputs.filter((_, i) => messages[i]);
}

// ---- churches -----------------------------------------------------------------------------

function lockedChurchMessage(value) {
  const church = churches.get(churchKey(value));
  if (!church?.locked) return '';
  return `${church.church_name} already has ${church.team_count} teams, the most allowed for one church. ` +
    'Choose another church.';
}

/** Fetches which churches are full, for the suggestions and for the check of the church field. */
async function loadChurches() {
  try {
    const response = await fetch('/api/churches/availability', { headers: { Accept: 'application/json' } });
    if (!response.ok) return;
    const body = await response.json();
    churches = new Map(body.churches.map((c) => [churchKey(c.church_name), c]));
  } catch {
    return; // suggestions are a convenience; the server still enforces the limit
  }
  const options = [...churches.values()].filter((c) => !c.locked).map((c) => {
    const option = document.createElement('option');
    option.value = c.church_name;
    return option;
  });
  $('church-list').replaceChildren(...options);
  // A church typed before the answer came may be full; an error already shown (say, the
  // server's) stays until the field is edited.
  const church = $('church_name');
  const locked = lockedChurchMessage(trim(church.value));
  if (locked && church.getAttribute('aria-invalid') !== 'true') showError(church, locked);
}

// ---- people and players -------------------------------------------------------------------

/** Gives a template's [data-field] inputs their API ids, with label, hint and error wired. */
function wireFields(root, idOf) {
  for (const input of root.querySelectorAll('[data-field]')) {
    const field = input.dataset.field;
    const id = idOf(field);
    input.id = id;
    input.name = id;
    root.querySelector(`[data-for="${field}"]`).htmlFor = id;
    const described = [];
    const hint = root.querySelector(`[data-hint="${field}"]`);
    if (hint) {
      hint.id = `${id}-hint`;
      described.push(hint.id);
    }
    const error = root.querySelector(`[data-error="${field}"]`);
    error.id = `${id}-error`;
    described.push(error.id);
    input.setAttribute('aria-describedby', described.join(' '));
  }
}

function buildPeople() {
  for (const box of document.querySelectorAll('.person[data-person]')) {
    box.append($('person-template').content.cloneNode(true));
    wireFields(box, (field) => `${box.dataset.person}_${field}`);
  }
}

function renumberPlayers() {
  const rows = [...playerList.children];
  rows.forEach((row, i) => {
    row.querySelector('.player-legend').textContent = `Player ${i + 1}`;
    wireFields(row, (field) => `player_${i}_${field}`);
    const remove = row.querySelector('.remove-player');
    remove.setAttribute('aria-label', `Remove player ${i + 1}`);
    remove.hidden = rows.length <= MIN_PLAYERS;
  });
  $('add-player').disabled = rows.length >= MAX_PLAYERS;
  const limit = rows.length >= MAX_PLAYERS ? ' (the most allowed)' : rows.length <= MIN_PLAYERS ? ' (the fewest allowed)' : '';
  $('player-count').textContent = `${rows.length} players${limit}`;
}

function addPlayer() {
  playerList.append($('player-template').content.firstElementChild.cloneNode(true));
  renumberPlayers();
  showError($('players'), '');
  return playerList.lastElementChild;
}

function removePlayer(row) {
  const next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  renumberPlayers();
  const target = next?.querySelector('.remove-player:not([hidden])') || $('add-player');
  target.focus();
  announce(`Player removed. ${playerList.children.length} players.`);
}

// ---- steps --------------------------------------------------------------------------------

function value(id) {
  return trim($(id).value);
}

function showStep(name, { focus = true } = {}) {
  for (const [key, section] of Object.entries(steps)) section.hidden = key !== name;
  $('lede').hidden = name === 'done';
  window.scrollTo(0, 0);
  if (focus) steps[name].querySelector('h2').focus();
}

async function toReview(event) {
  event.preventDefault();
  showNotice('');
  const invalid = await validateAll();
  if (invalid.length > 0) {
    invalid[0].focus();
    announce(invalid.length === 1 ? 'One field needs attention; it has the focus.'
      : `${invalid.length} fields need attention; the first has the focus.`);
    return;
  }
  renderReview($('review'), playerList.children.length);
  showStep('review');
}

// ---- submit -------------------------------------------------------------------------------

/** Exactly the API's fields: trimmed texts, empty optional ones left out, chosen files. */
function formData() {
  const data = new FormData();
  for (const input of fieldInputs()) {
    if (input.type === 'file') {
      if (input.files[0]) data.append(input.id, input.files[0]);
      continue;
    }
    const text = trim(input.value);
    if (text) data.append(input.id, text);
  }
  return data;
}

function setBusy(busy) {
  $('submit').disabled = busy;
  $('back').disabled = busy;
  steps.review.setAttribute('aria-busy', String(busy));
}

function showProgress(fraction) {
  const percent = Math.round(fraction * 100);
  $('upload').hidden = false;
  $('upload-progress').value = percent;
  $('upload-percent').textContent = percent >= 100 ? 'Uploaded; saving…' : `${percent}%`;
}

async function submit() {
  const data = formData();
  const key = keys.keyFor(fingerprintOf(data));
  showNotice('');
  setBusy(true);
  showProgress(0);
  announce('Sending your registration.');
  const result = await send(data, key, showProgress);
  setBusy(false);
  $('upload').hidden = true;
  if (result.status >= 200 && result.status < 300 && result.body?.success) {
    keys.settle();
    showDone(result.body);
    return;
  }
  if (!isRetryable(result)) keys.settle();
  showFailure(result);
}

function waitBeforeRetry(retryAfter) {
  const wait = Math.min(Math.max(retryAfter ?? 5, 1), MAX_RETRY_WAIT_S);
  const button = $('submit');
  button.disabled = true;
  setTimeout(() => {
    if (steps.review.getAttribute('aria-busy') === 'true') return;
    button.disabled = false;
    announce('You can submit again now.');
  }, wait * 1000);
  return wait;
}

function seconds(n) {
  return n === 1 ? '1 second' : `${n} seconds`;
}

function showFailure({ status, body, retryAfter }) {
  const serverMessage = body?.message || '';
  const code = body?.error_code || '';
  const safe = 'Your registration will not be counted twice.';
  if (status === 0) {
    showNotice('We could not reach the server, so the registration may not have arrived. Check your ' +
      `connection and press Submit registration again. ${safe}`, 'retry-notice');
  } else if (status === 429) {
    const wait = waitBeforeRetry(retryAfter);
    showNotice(`Too many registrations were sent from your network just now. Please wait ${seconds(wait)}, ` +
      `then press Submit registration again. ${safe}`, 'retry-notice');
  } else if (status >= 500) {
    const wait = waitBeforeRetry(retryAfter);
    showNotice(`The server could not take the registration right now${serverMessage ? ` (${serverMessage})` : ''}. ` +
      `Please wait ${seconds(wait)}, then press Submit registration again. ${safe}`, 'retry-notice');
  } else if (code === 'IDEMPOTENCY_KEY_IN_USE') {
    showNotice('Your registration is still being processed. Wait a moment, then press Submit registration again.',
      'retry-notice');
  } else {
    showRefusal(body, status);
  }
}

/** A refusal (4xx): back to the form with the server's message next to the field it names. */
function showRefusal(body, status) {
  const field = body?.details?.field;
  const text = body?.message || `The server refused the registration (HTTP ${status})`;
  const message = /[.!?]$/.test(text) ? text : `${text}.`;
  if (body?.error_code === 'CHURCH_LIMIT_REACHED') loadChurches();
  const target = field === 'players' ? $('players') : field && $(field);
  showStep('form', { focus: false });
  if (target && form.contains(target)) {
    showError(target, message);
    showNotice(`The registration was not accepted: ${message} Correct the marked field, then review again.`);
    (field === 'players' ? $('add-player') : target).focus();
  } else {
    showNotice(`The registration was not accepted: ${message}`);
    $('form-heading').focus();
  }
}

function showDone(body) {
  $('done-team-id').textContent = body.team_id || '';
  $('done-team-name').textContent = body.team_name || value('team_name');
  $('done-players').textContent = String(body.player_count ?? playerList.children.length);
  $('done-message').textContent = body.message || '';
  showStep('done');
  announce(`Registration received. Your team ID is ${body.team_id}.`);
}

// ---- wiring -------------------------------------------------------------------------------

function start() {
  buildPeople();
  for (let i = 0; i < MIN_PLAYERS; i++) addPlayer();

  form.addEventListener('submit', toReview);
  form.addEventListener('change', (event) => {
    const input = event.target;
    if (input.type === 'file') {
      fileChecks.delete(input);
      validate(input);
    } else if (input.id) {
      validate(input);
    }
  });
  form.addEventListener('input', (event) => {
    const input = event.target;
    if (input.type === 'file' || !input.id) return;
    // Fix-as-you-type once a field is marked; the church is checked at once against full churches.
    if (input.getAttribute('aria-invalid') === 'true' || input.id === 'church_name') {
      const message = input.id === 'church_name' && input.getAttribute('aria-invalid') !== 'true'
        ? lockedChurchMessage(trim(input.value)) : textMessage(input.id, trim(input.value));
      showError(input, message);
    }
  });
  $('add-player').addEventListener('click', () => {
    addPlayer().querySelector('input').focus();
    announce(`Player ${playerList.children.length} added.`);
  });
  playerList.addEventListener('click', (event) => {
    const button = event.target.closest('.remove-player');
    if (button) removePlayer(button.closest('.player'));
  });
  $('back').addEventListener('click', () => {
    showNotice('');
    showStep('form');
  });
  $('submit').addEventListener('click', submit);
  loadChurches();
}

start();
