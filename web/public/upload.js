// Sends a registration: multipart/form-data through XMLHttpRequest (fetch cannot report upload
// progress), with an Idempotency-Key that is kept for retries of the same submission.

const ENDPOINT = '/api/register/team';

/**
 * One key per submission attempt. After a network failure, a 5xx, a 429 or a 409
 * IDEMPOTENCY_KEY_IN_USE the outcome is unknown or not final, so pressing Submit again with an
 * unchanged form sends the same key: the server then answers with the first outcome instead of
 * registering the team twice. Any change to the form, or a final answer, starts a new key.
 */
export class IdempotencyKeys {
  #key = null;
  #fingerprint = null;

  keyFor(fingerprint) {
    if (this.#key === null || this.#fingerprint !== fingerprint) {
      this.#key = crypto.randomUUID();
      this.#fingerprint = fingerprint;
    }
    return this.#key;
  }

  /** After a final answer (success or a refusal that a resend would only repeat). */
  settle() {
    this.#key = null;
    this.#fingerprint = null;
  }
}

/** Whether the answer leaves the outcome open, so a retry must reuse the key. */
export function isRetryable(result) {
  if (result.status === 0 || result.status === 429 || result.status >= 500) return true;
  return result.status === 409 && result.body?.error_code === 'IDEMPOTENCY_KEY_IN_USE';
}

/**
 * A fingerprint of what is sent: the text values and each file's name, size and time, so that
 * "the same submission" is decided without reading the files again.
 */
export function fingerprintOf(formData) {
  const parts = [];
  for (const [name, value] of formData.entries()) {
    parts.push(typeof value === 'string' ? [name, value] : [name, value.name, value.size, value.lastModified]);
  }
  return JSON.stringify(parts);
}

/**
 * POSTs the form. onProgress(fraction) follows the upload. Resolves to {status, body, retryAfter}
 * (status 0 with body null when the network failed); never rejects.
 */
export function send(formData, key, onProgress) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', ENDPOINT);
    xhr.setRequestHeader('Idempotency-Key', key);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.responseType = 'text';
    xhr.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.addEventListener('load', () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      const retryAfter = Number.parseInt(xhr.getResponseHeader('Retry-After') || '', 10);
      resolve({ status: xhr.status, body, retryAfter: Number.isFinite(retryAfter) ? retryAfter : null });
    });
    const failed = () => resolve({ status: 0, body: null, retryAfter: null });
    xhr.addEventListener('error', failed);
    xhr.addEventListener('timeout', failed);
    xhr.addEventListener('abort', failed);
    xhr.send(formData);
  });
}
