#!/usr/bin/env bash
# The OpenCV (with contrib's xphoto, and scikit-image) the fixtures and baselines are measured against, in a venv of
# its own (tools/opencv/.venv, ignored by git). The project's tests never
# need it: they read the committed fixtures.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install -q opencv-contrib-python-headless==5.1.0.95 numpy==2.4.6 scikit-image==0.26.0
.venv/bin/python -c "import cv2; print('OpenCV', cv2.__version__)"
