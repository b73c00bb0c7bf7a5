// The server's registration rules (src/registration/validation.cpp), checked in the browser so a
// mistake is shown next to its field before anything is uploaded. The server still decides: a
// rule here that drifted from it shows up as the server's error next to the same field.

export const MIN_PLAYERS = 11;
export const MAX_PLAYERS = 15;
export const MAX_FILE_BYTES = 5 * 1024 * 1024;
export const ROLES = ['Batsman', 'Bowler', 'All-Rounder', 'Wicket-Keeper'];

const ASCII_SPACE = ' \t\n\v\f\r';
const NAME_PUNCTUATION = "'-.";

/** Trims ASCII whitespace only, as the server does. */
export function trim(text) {
  let start = 0;
  let end = text.length;
  while (start < end && ASCII_SPACE.includes(text[start])) start++;
  while (end > start && ASCII_SPACE.includes(text[end - 1])) end--;
  return text.slice(start, end);
}

// Any non-ASCII code point is a letter (names in every script), except invisible ones that would
// let two names look the same: the list of is_non_ascii_letter in validation.cpp.
function isNonAsciiLetter(c) {
  if (c <= 0x9f) return false;
  if (c === 0xa0 || c === 0xad || c === 0x1680 || c === 0x3000) return false;
  if (c >= 0x2000 && c <= 0x200b) return false;
  if (c === 0x200e || c === 0x200f) return false;
  if (c >= 0x2028 && c <= 0x202f) return false;
  if (c >= 0x205f && c <= 0x206f) return false;
  if (c === 0xfeff) return false;
  if (c >= 0xfff9 && c <= 0xfffb) return false;
  if (c >= 0xfdd0 && c <= 0xfdef) return false;
  if ((c & 0xfffe) === 0xfffe) return false;
  if (c >= 0xe000 && c <= 0xf8ff) return false;
  if (c >= 0xd800 && c <= 0xdfff) return false; // a lone surrogate is not valid UTF-8
  if (c >= 0xe0000) return false;
  return true;
}

const NAME_CHARACTERS = 'letters, spaces, apostrophes, hyphens and full stops';
const TEXT_RULES = {
  team: { min: 3, max: 80, digits: true, punctuation: "'-", allowed: 'letters, digits, spaces, apostrophes and hyphens' },
  church: { min: 3, max: 100, digits: false, punctuation: NAME_PUNCTUATION, allowed: NAME_CHARACTERS },
  person: { min: 3, max: 50, digits: false, punctuation: NAME_PUNCTUATION, allowed: NAME_CHARACTERS },
  player: { min: 2, max: 50, digits: false, punctuation: NAME_PUNCTUATION, allowed: NAME_CHARACTERS },
};

function allowedBy(rule, c) {
  if (c >= 0x80) return isNonAsciiLetter(c);
  const ch = String.fromCharCode(c);
  if (/[A-Za-z ]/.test(ch)) return true;
  if (rule.digits && /[0-9]/.test(ch)) return true;
  return rule.punctuation.includes(ch);
}

/** The message for a name-like value of kind team|church|person|player, or '' when valid. */
export function checkText(kind, label, value) {
  const rule = TEXT_RULES[kind];
  if (value === '') return `Enter the ${label}.`;
  const codePoints = Array.from(value, (ch) => ch.codePointAt(0));
  if (codePoints.length < rule.min || codePoints.length > rule.max) {
    return `The ${label} must be ${rule.min}–${rule.max} characters long (now ${codePoints.length}).`;
  }
  if (!codePoints.every((c) => allowedBy(rule, c))) return `The ${label} may only contain ${rule.allowed}.`;
  return '';
}

/** The 10 digits of an Indian phone number (spaces and a +91 prefix dropped), or null. */
export function normalisePhone(value) {
  let digits = value.replaceAll(' ', '');
  if (digits.startsWith('+91')) digits = digits.slice(3);
  return /^[0-9]{10}$/.test(digits) ? digits : null;
}

export function checkPhone(label, value, { optional = false } = {}) {
  if (value === '') return optional ? '' : `Enter the ${label}.`;
  return normalisePhone(value) ? '' : `The ${label} must be 10 digits (a +91 prefix is allowed).`;
}

function validDomain(domain) {
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  const ok = labels.every((l) => l.length >= 1 && l.length <= 63 && /^[A-Za-z0-9-]+$/.test(l) &&
    !l.startsWith('-') && !l.endsWith('-'));
  return ok && /^[A-Za-z]{2,}$/.test(labels[labels.length - 1]);
}

/** The server's pragmatic e-mail rule: no quoted local parts, no IP literals, ASCII only. */
export function validEmail(email) {
  if (email.length > 254) return false;
  const at = email.indexOf('@');
  if (at < 0 || email.indexOf('@', at + 1) >= 0) return false;
  const local = email.slice(0, at);
  if (local.length === 0 || local.length > 64) return false;
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  if (!/^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$/.test(local)) return false;
  return validDomain(email.slice(at + 1));
}

export function checkEmail(label, value) {
  if (value === '') return `Enter the ${label}.`;
  return validEmail(value) ? '' : `Enter a valid ${label}, like name@example.com.`;
}

export function checkRole(value) {
  return value === '' || ROLES.includes(value) ? '' : `Choose one of ${ROLES.join(', ')}.`;
}

/** The server's church_key: ASCII case and spaces ignored, apostrophe look-alikes folded. */
export function churchKey(name) {
  return name.replace(/[\u2018\u2019\u02bc\u00b4`]/g, "'").replace(/[ \t\n\v\f\r]/g, '')
    .replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/** The document's kind judged by its first bytes, as the server does: 'PDF' | 'PNG' | 'JPEG' | null. */
export function sniff(head) {
  const starts = (bytes) => bytes.every((b, i) => head[i] === b);
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'PNG';
  if (starts([0xff, 0xd8, 0xff])) return 'JPEG';
  if (starts([0x25, 0x50, 0x44, 0x46, 0x2d])) return 'PDF'; // "%PDF-"
  return null;
}

/** The message for a chosen file, or '' when it is a PDF, PNG or JPEG within the size limit. */
export async function checkFile(file) {
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_FILE_BYTES) {
    return `${file.name} is larger than ${formatBytes(MAX_FILE_BYTES)}, the most a document may be.`;
  }
  const head = new Uint8Array(await file.slice(0, 8).arrayBuffer());
  return sniff(head) ? '' : `${file.name} is not a PDF, PNG or JPEG file.`;
}

export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')} MB`;
}
