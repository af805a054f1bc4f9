#!/usr/bin/env bash
# Byte-for-byte comparison of two pconv builds' outputs, for refactors that
# must not change behaviour: the bundled model (one pass, 8-transform
# average with feathering), Telea, Navier–Stokes with an extended canvas,
# on held-out faces with test masks, eval's JSON, and the losses of a few
# training steps.
#   tools/compare_outputs.sh BEFORE_BINARY AFTER_BINARY [HOLDOUT]
# HOLDOUT: a set made by tools/eval_set.py (default /tmp/holdout).
set -euo pipefail
before=$1 after=$2 holdout=${3:-/tmp/holdout}
model="$(cd "$(dirname "$0")/.." && pwd)/assets/models/faces128.safetensors"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
# Eval on the first 20 pairs.
mkdir -p "$work/some/faces" "$work/some/masks"
for face in $(ls "$holdout/faces" | head -20); do
  cp "$holdout/faces/$face" "$work/some/faces/"
  cp "$holdout/masks/${face%.*}.png" "$work/some/masks/"
done
for side in before after; do
  bin=${!side}
  mkdir -p "$work/$side"
  for face in $(ls "$holdout/faces" | head -3); do
    f=${face%.*}
    in=(--image "$holdout/faces/$face" --mask "$holdout/masks/$f.png" --resize-mask)
    "$bin" inpaint "${in[@]}" --checkpoint "$model" --ensemble 1 --output "$work/$side/$f-one.png"
    "$bin" inpaint "${in[@]}" --checkpoint "$model" --feather 3 --output "$work/$side/$f-eight.png"
    "$bin" inpaint "${in[@]}" --method telea --output "$work/$side/$f-telea.png"
    "$bin" inpaint "${in[@]}" --method ns --extend 5,0,7,3 --output "$work/$side/$f-ns.jpg"
  done 2>/dev/null
  "$bin" eval --images "$work/some/faces" --masks "$work/some/masks" --checkpoint "$model" \
    --json "$work/$side/eval.json" >/dev/null 2>&1 || echo "eval failed with $bin"
  # Four training steps from the bundled model: the losses of each step
  # (metrics.jsonl without its timing).
  "$bin" train --headless --data "$work/some/faces" --init "$model" --size 64 --batch 2 \
    --steps 4 --out "$work/$side-run" >/dev/null 2>&1 || echo "train failed with $bin"
  sed 's/,"images_per_s":[^,}]*//; s/"images_per_s":[^,}]*,//' "$work/$side-run/metrics.jsonl" \
    >"$work/$side/metrics.jsonl"
done
n=0 differ=0
for f in "$work"/before/*; do
  n=$((n + 1))
  cmp -s "$f" "$work/after/$(basename "$f")" || { echo "differs: $(basename "$f")"; differ=$((differ + 1)); }
done
echo "$((n - differ)) of $n outputs byte-identical"
[ "$differ" = 0 ]
