#!/usr/bin/env python3
"""Writes tests/fixtures/skimage/: scikit-image's own inpaint_biharmonic on
the images of tests/fixtures/opencv, which tests/classical.rs compares
pconv's biharmonic inpainting against. Run once with scikit-image
installed (tools/opencv/setup.sh):

    tools/opencv/.venv/bin/python tools/opencv/make_biharmonic_fixtures.py

The masks are the OpenCV fixtures', holes on the border and one-pixel-wide
images included: scikit-image's stencil, truncated at the border with its
reflecting Laplacian, is the same system as pconv's graph Laplacian there.
"""
import json
import os

import numpy as np
import skimage
from skimage.io import imread, imsave
from skimage.restoration import inpaint_biharmonic

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SRC = os.path.join(ROOT, "tests", "fixtures", "opencv")
OUT = os.path.join(ROOT, "tests", "fixtures", "skimage")

CASES = ["face", "scene", "thin_lines", "large_hole", "border_holes", "one_px_wide", "one_px_tall"]


def main():
    manifest = []
    for case in CASES:
        image = imread(os.path.join(SRC, case, "image.png"))[:, :, :3]
        mask = imread(os.path.join(SRC, case, "mask.png")) > 0
        out = inpaint_biharmonic(skimage.img_as_float(image), mask, channel_axis=-1)
        d = os.path.join(OUT, case)
        os.makedirs(d, exist_ok=True)
        imsave(os.path.join(d, "biharmonic.png"), np.floor(out * 255 + 0.5).astype(np.uint8),
               check_contrast=False)
        manifest.append(case)
        print(case, image.shape, "holes %.1f %%" % (100.0 * mask.mean()))
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"scikit-image": skimage.__version__, "cases": manifest}, f, indent=1)


main()
