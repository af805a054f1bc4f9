#!/usr/bin/env bash
# docs/photo-object-removal.jpg: two masts and a rocket removed from the
# public-domain rocket photo (../shared/data/samples/rocket.jpg) by NS,
# FSR and the face model (default, --edge-band photos, and ×8).
#   tools/object_removal_figure.sh [OUT]   (default docs/photo-object-removal.jpg)
# Needs: a release build and ImageMagick.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/photo-object-removal.jpg}
bin=target/release/pconv
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
convert ../shared/data/samples/rocket.jpg "$w/photo.png"
convert -size 640x427 xc:black -fill white \
  -draw "polygon 190,116 212,116 222,396 162,396" \
  -draw "polygon 438,116 460,116 486,396 430,396" \
  -draw "polygon 298,120 345,120 345,333 364,333 364,404 282,404 282,333 298,333" \
  "$w/mask.png"
convert "$w/photo.png" \( -clone 0 -fill "#ff4040" -colorize 100 \) "$w/mask.png" \
  -compose blend -define compose:args=60 -composite "$w/mask-over.png"
run() { "$bin" inpaint --image "$w/photo.png" --mask "$w/mask.png" --output "$w/$1.png" "${@:2}"; }
run ns --method ns
run fsr --method fsr
run face
run band --edge-band photos
run band8 --edge-band photos --ensemble 8
label() {
  convert "$w/$1.png" -crop 400x330+120+90 +repage -font DejaVu-Sans -pointsize 15 \
    -fill white -undercolor "#000000a0" -gravity northwest -annotate +4+4 "$2" "$w/$1-l.png"
}
label mask-over "the mask: two masts and a rocket (640x427)"
label ns "OpenCV Navier-Stokes (--method ns)"
label fsr "OpenCV contrib FSR (--method fsr)"
label face "face model, default (--edge-band faces)"
label band "face model, --edge-band photos"
label band8 "face model, --edge-band photos --ensemble 8"
convert \( "$w/mask-over-l.png" "$w/ns-l.png" "$w/fsr-l.png" +append \) \
  \( "$w/face-l.png" "$w/band-l.png" "$w/band8-l.png" +append \) -append -quality 88 "$out"
echo "$out"
