#!/usr/bin/env bash
# Recorder benchmark: CPU seconds per recorded minute and peak memory, GStreamer room
# (`opencourt-record`) against an ffmpeg xstack + amix command with the same codecs (x264
# veryfast zerolatency 1200 kb/s + Opus 64 kb/s in Matroska), size (1280x720) and frame rate,
# both in real time, in the same run. Usage: recorder/bench/bench.sh [SECONDS] [PARTIES...]
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-60}; shift || true
parties=("${@:-2 4 8}"); parties=(${parties[@]})
fps=15
bin=${RECORDER_BIN:-${CARGO_TARGET_DIR:-target}/release/opencourt-record}
work=$(mktemp -d /tmp/recorder-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
font=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

# inputs: speech padded to the run length, and a moving 640x360 VP8 "camera" (WebRTC uplinks are VP8)
espeak-ng -w "$work/s.wav" "The court is now in session. Counsel, you may proceed with your witness."
sox "$work/s.wav" -r 48000 -c 1 "$work/a.wav" repeat $((secs / 4 + 1)) trim 0 "$secs"
ffmpeg -v error -f lavfi -i "testsrc2=s=640x360:r=$fps:d=$secs" -c:v libvpx -deadline realtime \
  -cpu-used 8 -b:v 500k "$work/cam.webm"

measure() { # label command... -> "label user+sys maxrss_kb"
  local label=$1; shift
  /usr/bin/time -f "%U %S %M" -o "$work/time" "$@" >/dev/null 2>"$work/err" || { cat "$work/err"; exit 1; }
  read -r u s m < "$work/time"
  printf "%s %.1f %d\n" "$label" "$(echo "($u + $s) * 60 / $secs" | bc -l)" "$((m / 1024))"
}

echo "# parties tool video cpu_s_per_min peak_mb"
for n in "${parties[@]}"; do
  args=(); for i in $(seq 1 "$n"); do args+=(--party "P$i=$work/a.wav,$work/cam.webm"); done
  rm -rf "$work/g"
  measure "$n gstreamer camera" "$bin" --out "$work/g" --seconds "$secs" --fps "$fps" "${args[@]}"
  args=(); for i in $(seq 1 "$n"); do args+=(--party "P$i=$work/a.wav"); done
  rm -rf "$work/g"
  measure "$n gstreamer test-pattern" "$bin" --out "$work/g" --seconds "$secs" --fps "$fps" "${args[@]}"

  # ffmpeg: the same grid, labels and UTC time overlay, one encode
  case $n in 2) cols=2 rows=1;; 4) cols=2 rows=2;; *) cols=4 rows=2;; esac
  tw=$((1280 / cols)); th=$((720 / rows))
  inputs=(); fc=""; layout=""; vs=""; as=""
  for i in $(seq 0 $((n - 1))); do
    inputs+=(-re -i "$work/cam.webm" -re -i "$work/a.wav")
    fc+="[$((2 * i)):v]fps=$fps,scale=$tw:$th,drawtext=fontfile=$font:text=P$((i + 1)):x=10:y=h-th-10:fontsize=20:fontcolor=white:box=1:boxcolor=black@0.5[v$i];"
    layout+="$(( (i % cols) * tw ))_$(( (i / cols) * th ))|"
    vs+="[v$i]"; as+="[$((2 * i + 1)):a]"
  done
  fc+="${vs}xstack=inputs=$n:layout=${layout%|},drawtext=fontfile=$font:text='%{gmtime}':x=10:y=10:fontsize=28:fontcolor=white:box=1:boxcolor=black@0.5[v];"
  fc+="${as}amix=inputs=$n[a]"
  measure "$n ffmpeg camera" ffmpeg -v error -y "${inputs[@]}" -filter_complex "$fc" -map "[v]" -map "[a]" \
    -t "$secs" -r "$fps" -c:v libx264 -preset veryfast -tune zerolatency -g $((fps * 4)) -b:v 1200k \
    -c:a libopus -b:a 64k -ac 1 -f matroska "$work/f.mkv"
done
