#!/usr/bin/env python3
"""Writes tests/fixtures/opencv/: small images and masks (white = hole)
with OpenCV's own cv2.inpaint results, which tests/classical.rs compares
pconv's Telea and Navier-Stokes against, and opencv-contrib's
cv2.xphoto.inpaint INPAINT_FSR_FAST and _BEST results for pconv's FSR. Run once with OpenCV installed
(tools/opencv/setup.sh):

    tools/opencv/.venv/bin/python tools/opencv/make_fixtures.py

Images: crops of the committed samples (assets/samples, and the CC0 and
public-domain photos of ../shared/data/samples) and synthetic ones; masks
drawn here from a fixed seed. No face, mask or scene of the datasets.
"""
import json
import os

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLES = os.path.join(ROOT, "..", "shared", "data", "samples")
OUT = os.path.join(ROOT, "tests", "fixtures", "opencv")
rng = np.random.default_rng(2026)


def rgb(path):
    return cv2.imread(path, cv2.IMREAD_COLOR)[:, :, ::-1].copy()


def strokes(h, w, count, thickness):
    m = np.zeros((h, w), np.uint8)
    for _ in range(count):
        pts = rng.integers(0, [w, h], size=(4, 2))
        t = int(rng.integers(thickness[0], thickness[1] + 1))
        cv2.polylines(m, [pts.reshape(-1, 1, 2).astype(np.int32)], False, 255, t)
    return m


def cases():
    astronaut = rgb(os.path.join(ROOT, "assets", "samples", "astronaut.png"))
    coffee = rgb(os.path.join(SAMPLES, "coffee.png"))
    chelsea = rgb(os.path.join(SAMPLES, "chelsea.png"))
    # A face at the face model's scale: the astronaut's, 128x128.
    face = cv2.resize(astronaut[30:250, 150:370], (128, 128), interpolation=cv2.INTER_AREA)
    yield "face", face, strokes(128, 128, 4, (2, 7)), [3]
    # A scene with edges and texture, odd size.
    scene = coffee[100:221, 150:311]
    yield "scene", scene, strokes(121, 161, 5, (3, 9)), [3, 7]
    # Thin one-pixel lines over fur.
    fur = chelsea[60:160, 120:230]
    yield "thin_lines", fur, strokes(100, 110, 12, (1, 1)), [3]
    # A large hole: 45 % of a smooth gradient with an edge through it.
    y, x = np.mgrid[0:90, 0:100]
    grad = np.stack([x * 2.5, y * 2.8, (x + y) * 1.3], -1)
    grad[:, 48:] += 60
    grad = np.clip(grad, 0, 255).astype(np.uint8)
    big = np.zeros((90, 100), np.uint8)
    big[15:75, 20:85] = 255
    yield "large_hole", grad, big, [3, 1]
    # Holes on every border and corner.
    border = np.zeros((60, 70), np.uint8)
    border[0:6, 0:9] = 255
    border[:, 69] = 255
    border[59, 20:50] = 255
    border[25:35, 0:3] = 255
    border[0, 30:60] = 255
    yield "border_holes", coffee[200:260, 300:370], border, [3]
    # One pixel wide, and one pixel tall.
    column = coffee[50:110, 400:401]
    col_mask = np.zeros((60, 1), np.uint8)
    col_mask[10:14] = 255
    col_mask[30:31] = 255
    col_mask[50:60] = 255
    yield "one_px_wide", column, col_mask, [3]
    row = chelsea[150:151, 50:130]
    row_mask = np.zeros((1, 80), np.uint8)
    row_mask[:, 5:9] = 255
    row_mask[:, 40:60] = 255
    # (Navier-Stokes only: OpenCV's Telea reads a row below a one-row
    # image, outside its buffer, so its result there is not reproducible.)
    yield "one_px_tall", row, row_mask, [3], ["ns"]
    # FSR's three block sizes: a photo with strokes and a large blob, its
    # sides multiples of 16 (FSR only).
    photo = astronaut[200:328, 60:236]
    blob = strokes(128, 176, 6, (4, 12))
    cv2.ellipse(blob, (120, 60), (30, 22), 20, 0, 360, 255, -1)
    yield "fsr_photo", photo, blob, [], ["fsr"]


def fsr(image, mask, flag):
    """FSR; xphoto's mask marks the known pixels."""
    out = np.zeros_like(image)
    bgr = image[:, :, ::-1].copy()
    cv2.xphoto.inpaint(bgr, (mask == 0).astype(np.uint8) * 255, out, flag)
    return out[:, :, ::-1]


def main():
    manifest = []
    for name, image, mask, radii, *only in cases():
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        cv2.imwrite(os.path.join(d, "image.png"), image[:, :, ::-1])
        cv2.imwrite(os.path.join(d, "mask.png"), mask)
        for radius in radii:
            for method, flag in [("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS)]:
                if only and method not in only[0]:
                    continue
                out = cv2.inpaint(image, mask, radius, flag)
                file = "%s_r%d.png" % (method, radius)
                cv2.imwrite(os.path.join(d, file), out[:, :, ::-1])
                manifest.append({"case": name, "method": method, "radius": radius, "file": file})
        if not only or "fsr" in only[0]:
            for method, flag in [("fsr", cv2.xphoto.INPAINT_FSR_FAST), ("fsr-best", cv2.xphoto.INPAINT_FSR_BEST)]:
                file = method.replace("-", "_") + ".png"
                cv2.imwrite(os.path.join(d, file), fsr(image, mask, flag)[:, :, ::-1])
                manifest.append({"case": name, "method": method, "file": file})
        print(name, image.shape, "holes %.1f %%" % (100.0 * (mask > 0).mean()))
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"opencv": cv2.__version__, "results": manifest}, f, indent=1)


main()
