#!/bin/bash
# device call (issue 21): the face model fine-tuned for RUN_S seconds in
# f32 and again in mixed precision, from the shipped weights with the same
# seed and faces, then both evaluated one pass on the 500 held-out faces
# (gpu/eval) beside each other: the mixed run must track the f32 one (loss
# curves in metrics.jsonl, PSNR within 0.2 dB) and shows its loss scale.
# usage: mixed_vs_f32.sh RUN_S BATCH
set -u
RUN_S=$1; B=$2
exec > >(tee $OUT/mixed_vs_f32.log) 2>&1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
for prec in f32 mixed; do
  el "$prec: fine-tune $RUN_S s"
  timeout -k 60 -s INT $RUN_S $P --precision $prec --headless train --data /root/faces \
    --finetune --init assets/models/faces128.safetensors --size 128 --batch $B --seed 11 \
    --steps 1000000 --out /root/mx-$prec --checkpoint-every 1000 --sample-every 100000 > /root/mx-$prec.log 2>&1
  tail -c 300 /root/mx-$prec.log; echo
  cp /root/mx-$prec/metrics.jsonl $OUT/metrics-$prec.jsonl
  el "$prec: evaluate"
  [ -d gpu/eval ] && timeout -k 5 120 $P --precision $prec eval --checkpoint /root/mx-$prec/latest.safetensors \
    --images gpu/eval/faces --masks gpu/eval/masks --ensemble 1 --edge-blend 0 --json $OUT/eval-$prec.json | tail -n 8
done
el done
