#!/usr/bin/env bash
# Steps `make run` takes before serving; later issues add theirs here (e.g. fetching the default
# transcription model into the data directory).
set -euo pipefail
data="${1:-./data}"
mkdir -p "$data"
