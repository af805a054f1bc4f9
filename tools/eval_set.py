#!/usr/bin/env python3
"""Builds the evaluation sets (issues 7 and 24).

    python3 tools/eval_set.py ../shared/data OUT
    tools/opencv/.venv/bin/python tools/eval_set.py --scenes ../shared/data OUT

Faces: OUT/faces holds the 500 held-out faces of assets/faces128-holdout.txt
(sorted); OUT/masks one of the paper's test masks per face, named after the
face, taken in turn from the six hole-ratio bins of masks-nvidia512 (files
00000-01999 are the first bin, 02000-03999 the second, ...): face i gets
mask (i % 6) * 2000 + i // 6.  Then

    pconv eval --images OUT/faces --masks OUT/masks --size 128

Scenes (issue 24's protocol, needs OpenCV): OUT/scenes holds the 80 photos
of scenes/CSun_Hays80 (sorted), each resized so its short side is 256
(INTER_AREA) and center-cropped to 256x256, as PNG; photo i gets mask
(i % 6) * 2000 + (i // 6) * 97, resized nearest (pixel centres, as pconv
resizes masks) to 256x256, in OUT/masks.
Then

    pconv eval --images OUT/scenes --masks OUT/masks --size 256

A fourth argument takes the photos from another folder by the same
protocol: local/data/urban100 (CUrban100, which tools/data/general.py
keeps out of training) is the second evaluation set of issue 24.
"""
import os
import shutil
import sys


def scenes(data, out, side=256, src=None):
    import cv2

    src = src or os.path.join(data, "scenes", "CSun_Hays80")
    names = sorted(n for n in os.listdir(src) if n.lower().endswith((".jpg", ".jpeg", ".png")))
    os.makedirs(os.path.join(out, "scenes"), exist_ok=True)
    os.makedirs(os.path.join(out, "masks"), exist_ok=True)
    for i, name in enumerate(names):
        img = cv2.imread(os.path.join(src, name), cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        s = side / min(h, w)
        nw, nh = max(side, round(w * s)), max(side, round(h * s))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        x0, y0 = (nw - side) // 2, (nh - side) // 2
        stem = os.path.splitext(name)[0]
        cv2.imwrite(os.path.join(out, "scenes", stem + ".png"), img[y0:y0 + side, x0:x0 + side])
        mask = cv2.imread(os.path.join(data, "masks-nvidia512", "%05d.png" % ((i % 6) * 2000 + (i // 6) * 97)),
                          cv2.IMREAD_GRAYSCALE)
        # Nearest by pixel centres, as pconv resizes masks.
        idx = [min(int((j + 0.5) * mask.shape[0] / side), mask.shape[0] - 1) for j in range(side)]
        jdx = [min(int((j + 0.5) * mask.shape[1] / side), mask.shape[1] - 1) for j in range(side)]
        mask = mask[idx][:, jdx]
        cv2.imwrite(os.path.join(out, "masks", stem + ".png"), mask)
    print("%d scenes and masks in %s" % (len(names), out))


if sys.argv[1] == "--scenes":
    scenes(sys.argv[2], sys.argv[3], src=sys.argv[4] if len(sys.argv) > 4 else None)
    sys.exit(0)
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
