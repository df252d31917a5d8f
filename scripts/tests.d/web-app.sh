#!/usr/bin/env bash
# The courtroom page (web/app): its generated code and bundle must be fresh (a proto change the page
# does not follow fails here), it must type-check, and its browser tests (Playwright driving
# Debian's Chromium, one browser per person, against the real server) must pass.
set -euo pipefail
cd "$(dirname "$0")/../../web/app"
# npm ci when node_modules is missing or older than the lock file (npm ci starts from scratch).
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "web-app: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "web-app: generated code and bundle up to date"
npm run --silent verify
echo "web-app: type-check"
npx tsc --noEmit -p . && npx tsc --noEmit -p tests
echo "web-app: browser tests"
OPENCOURT_BIN=${OPENCOURT_BIN:-$PWD/../../target/debug/opencourt} npx playwright test
