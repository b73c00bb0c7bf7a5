// The one way the console talks to the server: fetch with the session cookie (never a token in
// storage), JSON both ways, and the API's one error shape turned into an ApiError.
import { sentence } from './dom.js';

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    super(body?.message || `The server answered ${status}.`);
    this.status = status;
    this.code = body?.error_code ?? '';
    this.details = body?.details ?? {};
    this.retryAfter = retryAfter;
  }
}

let unauthorizedHandler = () => {};

/** Called on any 401: the session is gone, so the console returns to the login page. */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

/** For the few requests made without api(): reports a 401 like api() does. */
export function sessionLost() {
  unauthorizedHandler();
}

/**
 * Calls the API. `query` values that are empty are left out. A 401 calls the unauthorized
 * handler (unless `expectUnauthorized`) and still throws, so the caller stops what it was doing.
 */
export async function api(path, { method = 'GET', body, query, expectUnauthorized = false } = {}) {
  // Spaces as %20, not URLSearchParams' '+': the server reads a '+' in a query as a plus sign.
  const search = Object.entries(query ?? {})
    .filter(([, value]) => value !== undefined && value !== null && value !== '')
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&');
  const url = search ? `${path}?${search}` : path;
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new ApiError(0, {
      message: 'The server could not be reached. Check the connection and try again.',
    });
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return data;
  if (response.status === 401 && !expectUnauthorized) unauthorizedHandler();
  throw new ApiError(response.status, data, response.headers.get('Retry-After'));
}

/** A sentence for the person at the screen, from any error a call threw. */
export function describeError(error) {
  if (!(error instanceof ApiError)) return `Something went wrong in the console: ${error.message}`;
  switch (error.code) {
    case 'FORBIDDEN':
      return `${sentence(error.message)} Your account can look at everything but change nothing.`;
    case 'CSRF_REJECTED':
      return `${sentence(error.message)} Reload the console and try again.`;
    case 'RATE_LIMITED':
      return error.retryAfter
        ? `${sentence(error.message)} Try again in ${error.retryAfter} seconds.`
        : error.message;
    default:
      return error.message;
  }
}
