#!/usr/bin/env bash
# Screenshot the built app's main window under Xvfb (no real display needed).
#
#   installer/screenshot.sh [APP_DIR] [OUT_PNG] [MODEL.onnx]
#
# APP_DIR defaults to dist/earmark, OUT_PNG to docs/screenshots/frozen_main_window.png. MODEL,
# when given, is put into the user's model folder (platformdirs, under a scratch HOME) and
# chosen as the current model. With xdotool installed the bundled demo clip is opened in the
# File tab first, so the picture shows a waveform, a spectrogram and labels.
set -euo pipefail
cd "$(dirname "$0")/.."
app=${1:-dist/earmark} out=${2:-docs/screenshots/frozen_main_window.png} model=${3:-}
scratch=$(mktemp -d) display=":$((100 + RANDOM % 400))"
app_pid="" xvfb_pid=""
cleanup() {
  [ -n "$app_pid" ] && kill "$app_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT

Xvfb "$display" -screen 0 1400x900x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
mkdir -p "$scratch/data/Earmark/models" "$scratch/config/Earmark"
if [ -n "$model" ]; then
  cp "$model" "$scratch/data/Earmark/models/"
  printf '[models]\ncurrent=%s\n\n[window]\ntab=1\n' \
    "$scratch/data/Earmark/models/$(basename "$model")" > "$scratch/config/Earmark/Earmark.conf"
fi
export DISPLAY=$display
for _ in $(seq 50); do xwininfo -root >/dev/null 2>&1 && break; sleep 0.2; done
HOME=$scratch XDG_DATA_HOME=$scratch/data XDG_CONFIG_HOME=$scratch/config "$app/earmark" \
  >"$scratch/app.log" 2>&1 &
app_pid=$!

window=""
for _ in $(seq 150); do
  window=$(xwininfo -root -tree | awk '/"Earmark": \("earmark"/ {print $1; exit}')
  [ -n "$window" ] && break
  kill -0 "$app_pid" 2>/dev/null || { cat "$scratch/app.log" >&2; echo "screenshot.sh: the app exited" >&2; exit 1; }
  sleep 0.2
done
[ -n "$window" ] || { echo "screenshot.sh: no Earmark window after 30 s" >&2; exit 1; }
sleep 3
if command -v xdotool >/dev/null; then
  demo=$(cd "$app" && pwd)/_internal/resources/demo/lappen_de.wav
  xdotool windowfocus --sync "$window" 2>/dev/null; xdotool key ctrl+o && sleep 2
  dialog=$(xwininfo -root -tree | awk '/"Open audio"/ {print $1; exit}')
  [ -n "$dialog" ] && xdotool windowfocus --sync "$dialog" 2>/dev/null
  xdotool type --delay 20 "$demo" && xdotool key Return && sleep 5
fi
mkdir -p "$(dirname "$out")"
import -window "$window" "$out"
echo "screenshot.sh: wrote $out ($(identify -format '%wx%h' "$out"))"
