#!/usr/bin/env bash
# What the object-storage tests (tests/e2e/test_s3.py, the S3 blob-store contract) need beyond the build:
# Node.js with npm and the pinned s3rver of tests/s3. Installs only what is missing; a no-op when all is there.
exec "$(dirname "$0")/install-npm-tree.sh" tests/s3
