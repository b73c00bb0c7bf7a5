#!/usr/bin/env bash
# What the OpenAPI document check (tests/openapi/check_document.py) needs beyond install-deps.sh: Node.js
# with npm and the pinned OpenAPI 3.1 meta-schema of tests/openapi. Installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# As in install-browser-deps.sh: Debian's nodejs and npm only when there is no node at all.
if ! command -v node >/dev/null 2>&1; then
  echo "installing: nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends nodejs npm
elif ! command -v npm >/dev/null 2>&1; then
  echo "install-openapi-deps: node is installed but npm is not; install npm for $(command -v node)" >&2
  exit 1
fi

# npm ci again whenever the lock file is newer than the installed tree.
modules=tests/openapi/node_modules
if [ ! -d "$modules" ] || [ tests/openapi/package-lock.json -nt "$modules/.package-lock.json" ]; then
  npm ci --prefix tests/openapi --no-audit --no-fund
fi
