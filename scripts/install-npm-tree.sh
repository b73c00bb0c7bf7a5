#!/usr/bin/env bash
# Node.js with npm, and the npm packages pinned by DIR/package-lock.json installed in DIR/node_modules.
# Installs only what is missing; a no-op when all is there. Usage: install-npm-tree.sh DIR
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:?usage: install-npm-tree.sh DIR}

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# As in install-browser-deps.sh: Debian's nodejs and npm only when there is no node at all.
if ! command -v node >/dev/null 2>&1; then
  echo "installing: nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends nodejs npm
elif ! command -v npm >/dev/null 2>&1; then
  echo "install-npm-tree: node is installed but npm is not; install npm for $(command -v node)" >&2
  exit 1
fi

# npm ci again whenever the lock file is newer than the installed tree.
modules=$dir/node_modules
if [ ! -d "$modules" ] || [ "$dir/package-lock.json" -nt "$modules/.package-lock.json" ]; then
  npm ci --prefix "$dir" --no-audit --no-fund
fi
