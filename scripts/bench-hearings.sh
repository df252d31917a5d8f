#!/usr/bin/env bash
# Whole hearings under load (issue 5): `opencourt loadtest` with 1, 2, 3… concurrent hearings of
# four WebRTC bots each (turn-taking speech, cameras on) until one run falls behind; prints one
# line per run. Needs the tiny.en model in DATA/models (`opencourt model fetch tiny.en`).
#   scripts/bench-hearings.sh [DATA] [SECONDS] [MAX_HEARINGS]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${1:-./data}
seconds=${2:-60}
max=${3:-6}
cargo build --quiet --bin opencourt
for n in $(seq 1 "$max"); do
  if ! ./target/debug/opencourt loadtest --hearings "$n" --seconds "$seconds" --data "$data" 2>/dev/null; then
    echo "stopped at $n hearings: audio lost or the recording fell behind"
    break
  fi
done
