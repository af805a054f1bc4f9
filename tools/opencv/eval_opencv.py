#!/usr/bin/env python3
"""OpenCV's own cv2.inpaint on an evaluation set, scored as `pconv eval
--no-losses` scores it, to compare pconv's classical methods (and models)
with the real OpenCV:

    tools/opencv/.venv/bin/python tools/opencv/eval_opencv.py IMAGES MASKS [--radius 3] [--biharmonic] [--fsr fast|best] [--json FILE]

Pairs each image with the mask of the same stem (else the sorted masks in
turn), resizes the mask to the image nearest-neighbour with pconv's pixel-
centre rule, and reports PSNR (dB, 8-bit composite, whole image) per hole-
ratio bin for INPAINT_TELEA and INPAINT_NS, and with --biharmonic for
scikit-image's own inpaint_biharmonic (on the image / 255, rounded back to
8 bits), and with --fsr for opencv-contrib's Frequency Selective
Reconstruction (cv2.xphoto.inpaint, INPAINT_FSR_FAST or _BEST: about 1 s
and 20 s per 128x128 face on one core). Images are used at their own
size (the held-out faces are 128x128, which is what `--size 128` leaves).
"""
import argparse
import json
import math
import os

import cv2
import numpy as np

BINS = [(0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.3, 0.4), (0.4, 0.5), (0.5, 0.6)]
EXT = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")


def files(d):
    out = []
    for root, _, names in os.walk(d):
        out += [os.path.join(root, n) for n in names if n.lower().endswith(EXT)]
    return sorted(out)


def holes_of(path, w, h):
    m = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if m.ndim == 3:
        # ITU-R 601 luma rounded as Pillow does (pconv's mask rule).
        b, g, r = [m[:, :, i].astype(np.uint32) for i in range(3)]
        m = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)
    mh, mw = m.shape
    ys = np.minimum(((np.arange(h) + 0.5) * mh / h).astype(int), mh - 1)
    xs = np.minimum(((np.arange(w) + 0.5) * mw / w).astype(int), mw - 1)
    return m[ys][:, xs] >= 128


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) / 255.0 - b.astype(np.float64) / 255.0) ** 2)
    return 100.0 if mse <= 0 else min(100.0, 10.0 * math.log10(1.0 / mse))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("images")
    ap.add_argument("masks")
    ap.add_argument("--radius", type=int, default=3)
    ap.add_argument("--biharmonic", action="store_true")
    ap.add_argument("--fsr", choices=["fast", "best"])
    ap.add_argument("--json")
    a = ap.parse_args()
    images, masks = files(a.images), files(a.masks)
    stem = lambda p: os.path.splitext(os.path.basename(p))[0]
    by_stem = {stem(m): m for m in masks}
    rows = {"telea": [], "ns": []}
    if a.biharmonic:
        import skimage
        from skimage.restoration import inpaint_biharmonic

        rows["biharmonic"] = []
    if a.fsr:
        if not hasattr(cv2, "xphoto"):
            raise SystemExit("--fsr needs opencv-contrib (tools/opencv/setup.sh installs it)")
        rows["fsr"] = []
    for i, img_path in enumerate(images):
        img = cv2.imread(img_path, cv2.IMREAD_COLOR)
        h, w = img.shape[:2]
        holes = holes_of(by_stem.get(stem(img_path), masks[i % len(masks)]), w, h)
        mask = holes.astype(np.uint8) * 255
        for name, flag in [("telea", cv2.INPAINT_TELEA), ("ns", cv2.INPAINT_NS)]:
            out = cv2.inpaint(img, mask, a.radius, flag)
            rows[name].append({"image": img_path, "hole_ratio": float(holes.mean()), "psnr": psnr(out, img)})
        if a.biharmonic:
            out = inpaint_biharmonic(img / 255.0, holes, channel_axis=-1)
            out = np.floor(out * 255.0 + 0.5).astype(np.uint8)
            rows["biharmonic"].append({"image": img_path, "hole_ratio": float(holes.mean()), "psnr": psnr(out, img)})
        if a.fsr:
            # xphoto's mask marks the known pixels; the holes' values are not read.
            src = img.copy()
            src[holes] = 0
            out = np.zeros_like(img)
            flag = cv2.xphoto.INPAINT_FSR_BEST if a.fsr == "best" else cv2.xphoto.INPAINT_FSR_FAST
            cv2.xphoto.inpaint(src, (~holes).astype(np.uint8) * 255, out, flag)
            out[~holes] = img[~holes]
            rows["fsr"].append({"image": img_path, "hole_ratio": float(holes.mean()), "psnr": psnr(out, img)})
    result = {"opencv": cv2.__version__, "radius": a.radius}
    if a.biharmonic:
        result["scikit-image"] = skimage.__version__
    for name, rs in rows.items():
        if name == "biharmonic":
            print("scikit-image %s inpaint_biharmonic" % skimage.__version__)
        elif name == "fsr":
            print("OpenCV %s xphoto INPAINT_FSR_%s" % (cv2.__version__, a.fsr.upper()))
        else:
            print("OpenCV %s INPAINT_%s, radius %d" % (cv2.__version__, name.upper(), a.radius))
        bins = []
        for (lo, hi) in BINS:
            sel = [r["psnr"] for r in rs if lo < r["hole_ratio"] <= hi]
            bins.append({"range": [lo, hi], "count": len(sel), "psnr": float(np.mean(sel)) if sel else None})
            print("  (%s, %s] %4d  %.2f dB" % (lo, hi, len(sel), np.mean(sel) if sel else float("nan")))
        allp = [r["psnr"] for r in rs]
        bins.append({"range": None, "count": len(allp), "psnr": float(np.mean(allp))})
        print("  all        %4d  %.2f dB" % (len(allp), np.mean(allp)))
        result[name] = {"bins": bins, "images": rs}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


main()
