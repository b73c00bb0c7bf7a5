// Debian's Chromium, headless, through playwright-core (which never downloads a browser), plus
// what every page test wants: console errors, page errors and CSP violations collected, and
// screenshots under one directory.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Headless Chromium: $CHROMIUM or /usr/bin/chromium; --no-sandbox because tests run as root. */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
    headless: true,
  });
}

/** $TEAMREG_SCREENSHOT_DIR, else build/dev/screenshots in the repository. */
export function screenshotDir() {
  return process.env.TEAMREG_SCREENSHOT_DIR || join(REPO_ROOT, 'build/dev/screenshots');
}

/** Saves <dir>/<test>-<step>.png of the whole page and returns its path. */
export async function screenshot(page, test, step) {
  const dir = screenshotDir();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${test}-${step}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/**
 * Records what a page must not produce: console errors (the browser reports CSP refusals there),
 * uncaught exceptions, and securitypolicyviolation events (seen by a listener installed before
 * any page script runs). problems() lists them; `allow` is a list of RegExps for console errors a
 * test expects, such as the browser's "Failed to load resource … 409" after a refused submission.
 */
export async function watchPage(page) {
  const consoleErrors = [];
  const pageErrors = [];
  page.on('console', (message) => {
    if (message.type() === 'error') consoleErrors.push(`${message.text()} (${message.location().url || 'no URL'})`);
  });
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  await page.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'} ` +
        `at ${event.sourceFile}:${event.lineNumber}`);
    });
  });
  return {
    consoleErrors,
    pageErrors,
    async problems({ allow = [] } = {}) {
      const csp = page.isClosed() ? [] : await page.evaluate(() => window.__cspViolations || []);
      return [
        ...consoleErrors.filter((text) => !allow.some((pattern) => pattern.test(text))).map((t) => `console error: ${t}`),
        ...pageErrors.map((t) => `page error: ${t}`),
        ...csp.map((t) => `CSP violation: ${t}`),
      ];
    },
  };
}
