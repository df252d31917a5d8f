#!/usr/bin/env bash
# Transcriber benchmark (docs/BENCHMARKS.md, "Transcriber"): builds `opencourt`, fetches tiny.en and
# base (with their CTranslate2 directories), imports each as q8_0 (the default) and f16, makes the
# faster-whisper virtualenv, and runs scripts/bench_transcriber.py. BENCH_THREADS (default 2) sets
# both systems' threads (BENCH_OUR_THREADS, if set, ours alone); BENCH_VOICES=b speaks the same
# hearing with other voices; BENCH_REPEAT (default 3) runs each system that many times,
# interleaved, and reports the median; BENCH_MODELS (default "tiny.en base") picks the models.
set -euo pipefail
cd "$(dirname "$0")/.."
data=${BENCH_DATA:-${XDG_CACHE_HOME:-$HOME/.cache}/opencourt/test-data}
cargo build --release --bin opencourt
target=${CARGO_TARGET_DIR:-target}
bench=$(mktemp -d /tmp/opencourt-bench-models.XXXXXX)
trap 'rm -rf "$bench"' EXIT
for m in ${BENCH_MODELS:-tiny.en base}; do
  if [[ ! -f "$data/models/ggml-$m.bin.json" || ! -d "$data/models/ct2-$m" ]]; then
    "$target/release/opencourt" model fetch "$m" --data "$data" --keep-ct2
  fi
  ln -s "$data/models/ct2-$m" "$bench/ct2-$m"
  for t in q8_0 f16; do
    "$target/release/opencourt" model import "$data/models/ct2-$m" --type "$t" --out "$bench/ggml-$m-$t.bin"
  done
done
py=$(scripts/faster-whisper-venv.sh)
"$py" scripts/bench_transcriber.py "$target/release/opencourt" "$bench"
