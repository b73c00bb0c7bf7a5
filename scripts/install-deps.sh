#!/usr/bin/env bash
# Installs the Debian 12 packages teamreg needs to build, run and test; only what is missing.
set -euo pipefail
packages=(
  cmake make g++ pkg-config
  clang-14 libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libspdlog-dev libfmt-dev libcli11-dev libexpected-dev
  libsqlite3-dev libpq-dev libssl-dev libsodium-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 postgresql-client-15
  libcurl4-openssl-dev python3-aiosmtpd python3-boto3 python3-yaml python3-jsonschema
  libtomlplusplus-dev libsystemd-dev
  lintian dpkg-dev systemd
  python3 sqlite3 curl ca-certificates
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
fi
