#!/usr/bin/env bash
# Creates (once) a throwaway virtualenv with faster-whisper and the WER tools from PyPI, for the
# transcriber's equivalence test and benchmark. Prints the venv's python.
# Usage: scripts/faster-whisper-venv.sh [DIR]   (default ~/.cache/opencourt/faster-whisper-venv)
set -euo pipefail
dir=${1:-${XDG_CACHE_HOME:-$HOME/.cache}/opencourt/faster-whisper-venv}
py="$dir/bin/python"
if [[ -x "$py" ]] && "$py" -c 'import faster_whisper, jiwer, whisper_normalizer' 2>/dev/null; then
  echo "$py"
  exit 0
fi
mkdir -p "$(dirname "$dir")"
# Another process may be building it: take a lock so only one does.
exec 9>"$dir.lock"
flock 9
if ! { [[ -x "$py" ]] && "$py" -c 'import faster_whisper, jiwer, whisper_normalizer' 2>/dev/null; }; then
  rm -rf "$dir"
  python3 -m venv "$dir" >&2
  "$py" -m pip install -q --disable-pip-version-check faster-whisper jiwer whisper-normalizer >&2
fi
echo "$py"
