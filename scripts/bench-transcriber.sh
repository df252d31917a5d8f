#!/usr/bin/env bash
# Transcriber benchmark (docs/BENCHMARKS.md, "Transcriber"): builds `opencourt`, fetches tiny.en and
# base (with their CTranslate2 directories), makes the faster-whisper virtualenv, and runs
# scripts/bench_transcriber.py. BENCH_THREADS (default 2) sets both systems' threads.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${BENCH_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/opencourt/test-data}
cargo build --release --bin opencourt
target=${CARGO_TARGET_DIR:-target}
for m in tiny.en base; do
  if [[ ! -f "$data/models/ggml-$m.bin.json" || ! -d "$data/models/ct2-$m" ]]; then
    "$target/release/opencourt" model fetch "$m" --data "$data" --keep-ct2
  fi
done
py=$(scripts/faster-whisper-venv.sh)
"$py" scripts/bench_transcriber.py "$target/release/opencourt" "$data/models"
