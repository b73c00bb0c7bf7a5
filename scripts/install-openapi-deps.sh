#!/usr/bin/env bash
# What the OpenAPI document check (tests/openapi/check_document.py) needs beyond install-deps.sh: Node.js
# with npm and the pinned OpenAPI 3.1 meta-schema of tests/openapi. Installs only what is missing.
exec "$(dirname "$0")/install-npm-tree.sh" tests/openapi
