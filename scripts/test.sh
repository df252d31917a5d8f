#!/usr/bin/env bash
# `make test`: build once, start a throwaway PostgreSQL, run the whole workspace's tests (every
# storage test runs on SQLite and on PostgreSQL), then the cross-language client checks.
set -euo pipefail
cd "$(dirname "$0")/.."

pgdir=$(mktemp -d /tmp/opencourt-pg.XXXXXX)
chmod 755 "$pgdir"
port=${OPENCOURT_TEST_PG_PORT:-55432}
cleanup() { scripts/pg.sh stop "$pgdir"; rm -rf "$pgdir"; }
trap cleanup EXIT
url=$(scripts/pg.sh start "$pgdir" "$port")   # fails the run if PostgreSQL does not start
export OPENCOURT_TEST_POSTGRES_URL=$url
echo "test: PostgreSQL at $OPENCOURT_TEST_POSTGRES_URL"

# A one-shot build gains nothing from incremental caches, which would double the disk it takes.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
echo "test: building"
cargo build --workspace --all-targets
echo "test: running the workspace tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi
for t in scripts/tests.d/*.sh; do
  [[ -e "$t" ]] || continue
  echo "test: $t"
  bash "$t"
done
