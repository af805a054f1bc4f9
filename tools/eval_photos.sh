#!/usr/bin/env bash
# Issue 24's evaluation of a model on photos, for its model card: the 80
# held-out scenes (CSun_Hays80) and CUrban100, both at 256² with the
# paper's masks (tools/eval_set.py --scenes), the model one pass alone,
# as `inpaint` runs it by default (×2, edge blend) and ×8, both also with
# the photos' edge band (`--edge-band photos`), beside OpenCV's
# own Telea and Navier–Stokes, opencv-contrib's FSR (the strongest on
# photos) and scikit-image's biharmonic.
#   tools/eval_photos.sh MODEL [OUT_DIR]   (default OUT_DIR: /tmp/eval-photos)
# Needs: a release build, tools/opencv/setup.sh's venv, ../shared/data, and
# local/data/urban100 (tools/data/general.py). Tables go to OUT_DIR/*.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
model=$1
out=${2:-/tmp/eval-photos}
py=tools/opencv/.venv/bin/python
bin=target/release/pconv
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
mkdir -p "$out"
for set in scenes urban100; do
  if [ "$set" = scenes ]; then src=""; else src=local/data/urban100; fi
  [ -d "$out/$set/scenes" ] || $py tools/eval_set.py --scenes ../shared/data "$out/$set" $src
  args=(--images "$out/$set/scenes" --masks "$out/$set/masks" --size 256)
  [ -f "$out/$set-opencv.txt" ] ||
    $py tools/opencv/eval_opencv.py "$out/$set/scenes" "$out/$set/masks" --biharmonic --fsr fast >"$out/$set-opencv.txt"
  $bin eval --model "$model" "${args[@]}" --ensemble 1 --edge-blend 0 >"$out/$set-alone.txt"
  $bin eval --model "$model" "${args[@]}" >"$out/$set-default.txt"
  $bin eval --model "$model" "${args[@]}" --ensemble 8 >"$out/$set-x8.txt"
  $bin eval --model "$model" "${args[@]}" --edge-band photos >"$out/$set-photos-band.txt"
  $bin eval --model "$model" "${args[@]}" --edge-band photos --ensemble 8 >"$out/$set-photos-band-x8.txt"
  for f in opencv alone default x8 photos-band photos-band-x8; do
    echo "== $set $f"
    grep -E "^(OpenCV|scikit)|^ *\(|^ *all" "$out/$set-$f.txt"
  done
done
