#!/usr/bin/env bash
# The README's screenshots: the app and the training dashboard under Xvfb
# (lavapipe), release build, each window set up through the settings the
# app remembers (an app.ron in a fresh XDG_DATA_HOME) and command-line
# arguments, so no clicks are needed.
#   tools/screenshots.sh [OUT_DIR]     (default docs/)
# Needs: Xvfb, xdotool, ImageMagick's `import`, a release build (cargo build
# --release), ../shared/data (a held-out face, its test mask, faces to
# train on) and python3 with tools/eval_set.py's held-out set built in
# $HOLDOUT (default /tmp/holdout: python3 tools/eval_set.py ../shared/data
# /tmp/holdout).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs}
holdout=${HOLDOUT:-/tmp/holdout}
data=${DATA:-../shared/data}
bin=target/release/pconv
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
face=d1efd85fd620
model=$PWD/assets/models/faces128.safetensors

# settings NAME RON: a data folder whose app.ron holds these settings.
settings() {
  mkdir -p "$work/$1/pconv"
  printf '{"pconv-settings": "%s"}\n' "$2" >"$work/$1/pconv/app.ron"
}

# shot FILE WAIT_S SETTINGS ARGS...: runs pconv on a fresh virtual display
# and captures the screen after WAIT_S seconds.
shot() {
  local file=$1 wait=$2 xdg=$3
  shift 3
  Xvfb :93 -screen 0 1100x760x24 -nolisten tcp >/dev/null 2>&1 &
  local xvfb=$!
  sleep 1
  DISPLAY=:93 XDG_DATA_HOME="$work/$xdg" XDG_RUNTIME_DIR=/tmp WAYLAND_DISPLAY= \
    "$bin" "$@" >"$work/log" 2>&1 &
  local app=$!
  sleep "$wait"
  # The pointer off the canvas (no brush circle in the picture).
  DISPLAY=:93 xdotool mousemove 140 750
  sleep 0.5
  DISPLAY=:93 import -window root "$out/$file"
  kill "$app" 2>/dev/null || true
  wait "$app" 2>/dev/null || true
  kill "$xvfb"
  wait "$xvfb" 2>/dev/null || true
  echo "$out/$file"
}

# The astronaut's eyes, nose and mouth (256x256; white = hole).
convert -size 256x256 xc:black -fill white \
  -draw "ellipse 75,73 13,8 0,360" -draw "ellipse 106,73 13,8 0,360" \
  -draw "ellipse 91,93 8,11 0,360" -draw "ellipse 91,111 20,8 0,360" \
  "$work/features.png"

base="radius:12.0,grow_by:4,extend_by:32,feather:0,model:None,last_folder:None"
settings mask "($base,overlay_opacity:0.5,overlay_on_result:true,average_flips:false,method:None)"
settings result "($base,overlay_opacity:0.5,overlay_on_result:false,average_flips:false,method:None)"
settings faceMask "($base,overlay_opacity:1.0,overlay_on_result:true,average_flips:true,method:None)"
settings faceResult "($base,overlay_opacity:1.0,overlay_on_result:false,average_flips:true,method:None)"
settings fit "($base,overlay_opacity:0.5,overlay_on_result:false,average_flips:false,method:None)"

shot app-mask.png 10 mask app --checkpoint "$model" --mask "$work/features.png"
shot app-result.png 10 result app --checkpoint "$model" --mask "$work/features.png"
shot app-face-mask.png 15 faceMask app "$holdout/faces/$face.jpg" \
  --checkpoint "$model" --mask "$holdout/masks/$face.png"
shot app-face-result.png 15 faceResult app "$holdout/faces/$face.jpg" \
  --checkpoint "$model" --mask "$holdout/masks/$face.png"
shot app-fit.png 90 fit app --method fit --mask "$work/features.png"

# The dashboard: fine-tuning the face model on 40 faces at 128x128.
mkdir -p "$work/faces"
find "$data/faces128" -name "*.jpg" | sort | grep -vFf assets/faces128-holdout.txt >"$work/list"
head -40 "$work/list" | xargs -I{} cp {} "$work/faces/"
shot dashboard.png 90 fit train --data "$work/faces" --init "$model" --size 128 \
  --batch 2 --steps 100000 --sample-every 5 --checkpoint-every 100000 \
  --out "$work/run"
