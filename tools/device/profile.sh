#!/bin/bash
# device call: per-kernel GPU-timestamp profiles of training steps (issue 6)
set -u
exec > >(tee $OUT/profile.log) 2>&1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
el L7 256 b1
timeout -k 5 40 $P bench --levels 7 --size 256 --batch 1 --reps 3 --profile > $OUT/profile-L7-256-b1.txt 2>&1; tail -n 3 $OUT/profile-L7-256-b1.txt
el L6 w0.5 128 b32
timeout -k 5 40 $P bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 3 --profile > $OUT/profile-L6w05-128-b32.txt 2>&1; tail -n 3 $OUT/profile-L6w05-128-b32.txt
el L6 w0.5 128 b64
timeout -k 5 30 $P bench --levels 6 --width 0.5 --size 128 --batch 64 --reps 3
el done
