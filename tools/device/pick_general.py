#!/usr/bin/env python3
"""Pick general-model training photos for one device call (issue 24).

    tools/opencv/.venv/bin/python tools/device/pick_general.py SKIP_MB BUDGET_MB gpu/general-N.tar

Reads local/data/general (tools/data/general.py). Each photo is reduced so
its short side is at most 256 px (what `--size 128 --crop-scale 1:2`
uses) and re-encoded as JPEG quality 88, once, into local/data/general256.
Photos are taken in order of the SHA-1 of their names (the sources mixed),
skipping the first SKIP_MB and taking BUDGET_MB of them, so consecutive
calls get disjoint sets. The tar holds general/small/* (the sources of
photos under 256 px: intel, road) and general/large/* (the rest, larger and
more varied), so the trainer can weight them: `--data DIR/small --data
DIR/large:4`. A plain tar: JPEGs do not compress, and one file has no
per-file block overhead in the carry limit.
"""
import hashlib
import os
import subprocess
import sys
import tempfile

import cv2

SMALL = ("intel", "road")
root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
src = os.path.join(root, "local", "data", "general")
cache = os.path.join(root, "local", "data", "general256")
skip, budget, out = float(sys.argv[1]) * 1e6, float(sys.argv[2]) * 1e6, sys.argv[3]
# setup.sh unpacks gpu/general*.tar into /root/general; a pack named
# otherwise is not unpacked, or (gpu/train*) is unpacked among the faces.
name = os.path.basename(out)
if not (name.startswith("general") and name.endswith(".tar")):
    sys.exit(f"{out}: name the pack gpu/general-N.tar (setup.sh unpacks gpu/general*.tar)")

photos = []
for source in sorted(os.listdir(src)):
    d = os.path.join(src, source)
    if os.path.isdir(d):
        group = "small" if source in SMALL else "large"
        photos += [(group, source, n) for n in sorted(os.listdir(d)) if n.endswith(".jpg")]
photos.sort(key=lambda p: hashlib.sha1(p[2].encode()).hexdigest())

used, picked = 0.0, []
for group, source, name in photos:
    rel = os.path.join("general", group, source + "-" + name)
    dst = os.path.join(cache, rel)
    if not os.path.exists(dst):
        img = cv2.imread(os.path.join(src, source, name), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        if min(h, w) > 256:
            s = 256 / min(h, w)
            img = cv2.resize(img, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 88])
        with open(dst + ".tmp", "wb") as f:
            f.write(enc.tobytes())
        os.replace(dst + ".tmp", dst)
    used += os.path.getsize(dst)
    if used <= skip:
        continue
    if used > skip + budget:
        break
    picked.append(rel)
with tempfile.NamedTemporaryFile("w", delete=False) as f:
    f.write("\n".join(picked))
subprocess.run(["tar", "cf", out, "-C", cache, "-T", f.name], check=True)
os.unlink(f.name)
small = sum(1 for p in picked if "/small/" in p)
print("%d photos (%d small, %d large), %.1f MB; all photos: %.0f MB so far"
      % (len(picked), small, len(picked) - small, os.path.getsize(out) / 1e6, used / 1e6))
