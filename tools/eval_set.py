#!/usr/bin/env python3
"""Builds the face model's evaluation set (issue 7).

    python3 tools/eval_set.py ../shared/data OUT

OUT/faces: the 500 held-out faces of assets/faces128-holdout.txt (sorted);
OUT/masks: one of the paper's test masks per face, named after the face,
taken in turn from the six hole-ratio bins of masks-nvidia512 (files
00000-01999 are the first bin, 02000-03999 the second, ...): face i gets
mask (i % 6) * 2000 + i // 6.  Then

    pconv eval --images OUT/faces --masks OUT/masks --size 128
"""
import os
import shutil
import sys

data, out = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
with open(os.path.join(root, "assets", "faces128-holdout.txt")) as f:
    faces = sorted(line.strip() for line in f if line.strip())
os.makedirs(os.path.join(out, "faces"), exist_ok=True)
os.makedirs(os.path.join(out, "masks"), exist_ok=True)
for i, name in enumerate(faces):
    shutil.copy(os.path.join(data, "faces128", name), os.path.join(out, "faces", name))
    mask = "%05d.png" % ((i % 6) * 2000 + i // 6)
    stem = os.path.splitext(name)[0]
    shutil.copy(os.path.join(data, "masks-nvidia512", mask), os.path.join(out, "masks", stem + ".png"))
print("%d faces and masks in %s" % (len(faces), out))
