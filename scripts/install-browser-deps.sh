#!/usr/bin/env bash
# What the browser tests (tests/browser) need beyond the build: Debian's Chromium and a font, Node.js
# with npm, and the pinned npm packages. Installs only what is missing; a no-op when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
for p in chromium fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may already have Node.js from elsewhere (e.g. nodesource, whose nodejs bundles npm);
# Debian's nodejs and npm would conflict with it, so they come only when there is no node at all.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs npm)
elif ! command -v npm >/dev/null 2>&1; then
  echo "install-browser-deps: node is installed but npm is not; install npm for $(command -v node)" >&2
  exit 1
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
fi

# npm ci again whenever the lock file is newer than the installed tree. playwright-core never
# downloads a browser: the tests drive /usr/bin/chromium.
modules=tests/browser/node_modules
if [ ! -d "$modules" ] || [ tests/browser/package-lock.json -nt "$modules/.package-lock.json" ]; then
  npm ci --prefix tests/browser --no-audit --no-fund
fi
