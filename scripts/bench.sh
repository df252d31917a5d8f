#!/usr/bin/env bash
# `make bench`: every benchmark in docs/BENCHMARKS.md, each next to its named peer where it has one.
#   control plane: opencourt bench on SQLite and on a throwaway PostgreSQL
#   recorder:      recorder/bench/bench.sh (the room against ffmpeg xstack + amix)
#   transcriber:   scripts/bench-transcriber.sh (against faster-whisper int8), when present
#   hearings:      scripts/bench-hearings.sh (whole hearings of WebRTC bots until one falls behind)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --bin opencourt
pgdir=$(mktemp -d /tmp/opencourt-benchpg.XXXXXX); chmod 755 "$pgdir"
trap 'scripts/pg.sh stop "$pgdir"; rm -rf "$pgdir"' EXIT
url=$(scripts/pg.sh start "$pgdir" "${OPENCOURT_BENCH_PG_PORT:-55434}")
psql -q "$url" -c 'CREATE DATABASE bench'
echo "== control plane"
./target/debug/opencourt bench --hearings 50 --participants 10
./target/debug/opencourt bench --hearings 50 --participants 10 --database-url "${url%/*}/bench"
echo "== recorder"
bash recorder/bench/bench.sh
if [[ -x scripts/bench-transcriber.sh ]]; then
  echo "== transcriber"
  bash scripts/bench-transcriber.sh
fi
echo "== whole hearings"
mkdir -p data
[[ -f data/models/ggml-tiny.en.bin ]] || ./target/debug/opencourt model fetch tiny.en --data data
bash scripts/bench-hearings.sh ./data 60 6
