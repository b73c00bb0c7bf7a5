// Valid registrations for tests, unique per call (names, e-mails, phones), and a way to register
// one through the public API without a browser (to set up duplicates, full churches, …).
import { pdfBytes } from './documents.mjs';

export const ROLES = ['Batsman', 'Bowler', 'All-Rounder', 'Wicket-Keeper'];

const RUN = Math.floor(Math.random() * 26 ** 3);
let counter = 0;

/** n as a capitalised word of letters (names may not contain digits). */
export function letters(n) {
  let out = '';
  let rest = n + 26 * 27; // at least three letters
  while (rest > 0) {
    out = String.fromCharCode(97 + (rest % 26)) + out;
    rest = Math.floor(rest / 26);
  }
  return out[0].toUpperCase() + out.slice(1);
}

/** A word no other call in this run returns (for names that must not collide, like churches). */
export function uniqueWord() {
  return letters(RUN * 1000 + ++counter);
}

function phone(n, lead) {
  return `${lead}${String(n % 1e9).padStart(9, '0')}`;
}

/**
 * A valid team as {fields: {team_name, …}, players: [{name, role}]}; overrides replace fields
 * (e.g. {church_name: 'St. Peter\'s Church', captain_email: 'x@example.com'}).
 */
export function makeTeam({ players = 11, ...overrides } = {}) {
  const n = RUN * 1000 + ++counter;
  const word = letters(n);
  const fields = {
    team_name: `Team ${word}`,
    church_name: `Church of ${word}`,
    captain_name: `Captain ${word}`,
    captain_phone: phone(n, '9'),
    captain_email: `captain.${word.toLowerCase()}@example.com`,
    captain_whatsapp: phone(n, '9'),
    vice_name: `Vice ${word}`,
    vice_phone: phone(n, '8'),
    vice_email: `vice.${word.toLowerCase()}@example.org`,
    vice_whatsapp: '',
    ...overrides,
  };
  const roster = Array.from({ length: players }, (_, i) => ({
    name: `Player ${letters(i)} ${word}`,
    role: i % 5 === 4 ? '' : ROLES[i % ROLES.length],
  }));
  return { fields, players: roster };
}

/** POSTs the team as multipart/form-data (pastor letter only); resolves to {status, body}. */
export async function registerByApi(server, team, { headers = {} } = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(team.fields)) form.append(name, value);
  team.players.forEach((player, i) => {
    form.append(`player_${i}_name`, player.name);
    if (player.role) form.append(`player_${i}_role`, player.role);
  });
  form.append('pastor_letter', new Blob([pdfBytes(team.fields.team_name)], { type: 'application/pdf' }), 'letter.pdf');
  const response = await fetch(`${server.url}/api/register/team`, { method: 'POST', body: form, headers });
  return { status: response.status, body: await response.json() };
}
