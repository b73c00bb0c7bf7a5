// The review step: what the form holds, as text (never as HTML), before anything is sent.
import { formatBytes, trim } from './rules.js';

const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function value(id) {
  return trim($(id).value);
}

function fileText(input) {
  const file = input.files[0];
  return file ? `${file.name} (${formatBytes(file.size)})` : '';
}

function summaryList(rows) {
  const dl = el('dl', undefined, 'summary');
  for (const [term, detail] of rows) dl.append(el('dt', term), el('dd', detail || '—'));
  return dl;
}

/** Fills container with the form's content; playerCount rows of players are read. */
export function renderReview(container, playerCount) {
  const section = (title, content) => {
    const box = el('section', undefined, 'review-section');
    box.append(el('h3', title), content);
    return box;
  };
  const person = (p) => summaryList([
    ['Name', value(`${p}_name`)], ['Phone', value(`${p}_phone`)], ['E-mail', value(`${p}_email`)],
    ['WhatsApp', value(`${p}_whatsapp`)],
  ]);
  const players = el('ol', undefined, 'review-players');
  for (let i = 0; i < playerCount; i++) {
    const item = el('li');
    item.append(el('strong', value(`player_${i}_name`)), el('span', ` · ${$(`player_${i}_role`).value || 'no role'}`));
    const aadhar = fileText($(`player_${i}_aadhar_file`));
    const subscription = fileText($(`player_${i}_subscription_file`));
    const documents = [aadhar && `Aadhaar: ${aadhar}`, subscription && `subscription: ${subscription}`];
    item.append(el('div', documents.filter(Boolean).join('; ') || 'No documents', 'hint'));
    players.append(item);
  }
  container.replaceChildren(
    section('Team', summaryList([['Team name', value('team_name')], ['Church', value('church_name')]])),
    section('Captain', person('captain')),
    section('Vice-captain', person('vice')),
    section(`Players (${playerCount})`, players),
    section('Documents', summaryList([
      ["Pastor's letter", fileText($('pastor_letter'))],
      ['Payment receipt', fileText($('payment_receipt')) || 'not attached'],
      ['Group photo', fileText($('group_photo')) || 'not attached'],
    ])),
  );
}
