#!/usr/bin/env bash
# A gRPC client generated from proto/ alone, in Python (grpcio), runs the hearing walk against
# `opencourt serve` on SQLite and on PostgreSQL ($OPENCOURT_TEST_POSTGRES_URL).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/py-venv
if [[ ! -x $venv/bin/python ]] || ! $venv/bin/python -c 'import grpc, grpc_tools' 2>/dev/null; then
  python3 -m venv "$venv"
  $venv/bin/pip install --quiet --disable-pip-version-check 'grpcio>=1.60' 'grpcio-tools>=1.60'
fi
work=$(mktemp -d)
pids=()
# The server finishes its track files when it is stopped, so wait for it to exit before removing
# the directory it writes into (a bounded wait; a server that hangs is killed).
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
$venv/bin/python -m grpc_tools.protoc -I proto --python_out="$work" --grpc_python_out="$work" proto/court/v1/*.proto
bin=target/debug/opencourt
[[ -x $bin ]] || cargo build --bin opencourt

run_walk() {  # $1 = name, $2 = database url
  local data="$work/$1" pw="walk-password-123"
  mkdir -p "$data"
  echo "$pw" | $bin user add --username judge.py --role judge --display-name "Judge Py" --password-stdin --data "$data" --database-url "$2" >/dev/null
  echo "$pw" | $bin user add --username clerk.py --role clerk --display-name "Clerk Py" --password-stdin --data "$data" --database-url "$2" >/dev/null
  RUST_LOG=warn $bin serve --listen 127.0.0.1:0 --data "$data" --database-url "$2" >"$data/out" 2>"$data/err" &
  pids+=($!)
  local addr=""
  for _ in $(seq 100); do
    addr=$(sed -n 's/^opencourt listening on //p' "$data/out")
    [[ -n $addr ]] && break
    sleep 0.1
  done
  [[ -n $addr ]] || { cat "$data/err"; echo "server did not start"; exit 1; }
  PYTHONPATH="$work" $venv/bin/python tests/python/hearing_walk.py "$addr" judge.py clerk.py "$pw"
  echo "  ($1)"
}

run_walk sqlite "sqlite://$work/sqlite/opencourt.db"
if [[ -n ${OPENCOURT_TEST_POSTGRES_URL:-} ]]; then
  db="py_walk_$RANDOM$RANDOM"
  psql -q "$OPENCOURT_TEST_POSTGRES_URL" -c "CREATE DATABASE $db"
  run_walk postgres "${OPENCOURT_TEST_POSTGRES_URL%/*}/$db"
else
  echo "OPENCOURT_TEST_POSTGRES_URL is not set: run this from make test" >&2
  exit 1
fi
echo "python: 2 passed, 0 failed"
