#!/bin/bash
# device call (issue 22): fine-tune the model in the tree for STEPS steps
# with a moving average of the weights (--ema) and a cosine learning-rate
# decay over exactly those steps, on the faces carried so far; a later
# call on the same warm machine continues it exactly (--resume keeps the
# steps, the schedule and the average). Exports the averaged weights.
# usage: [LR=lr] [EMA=decay] [LIMIT_S=s] finetune.sh STEPS BATCH
# (LIMIT_S: stop by SIGINT after that many seconds, which saves; a later
# call continues the run exactly)
# (the face step ran 476 images/s on the H100: batch 32, 6,000 steps ≈ 400 s)
set -u
STEPS=$1; B=$2
exec > >(tee $OUT/finetune.log) 2>&1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
if [ -f /root/ft/latest.safetensors ]; then START="--resume /root/ft/latest.safetensors"
else START="--finetune --init assets/models/faces128.safetensors --size 128 --batch $B --seed 12 --steps $STEPS --ema ${EMA:-0.999} --lr-schedule cosine ${LR:+--lr $LR}"; fi
el finetune: $START
el "precision ${PCONV_PRECISION:-f32}, 3x3 kernels ${PCONV_MMA_DIRECT:-0}, 128-row blocks ${PCONV_MMA_TALL:-0}"
timeout -k 60 -s INT ${LIMIT_S:-100000} $P --headless train --data /root/faces $START --out /root/ft --checkpoint-every 1000 --sample-every 1000 >> /root/ft.log 2>&1
tail -c 400 /root/ft.log; echo
el export
$P export --checkpoint /root/ft/latest.safetensors --out /root/face-ft.safetensors
(cd /root && split -b 15M face-ft.safetensors $OUT/face-ft.part- )
cd /root && mkdir -p res && cp ft.log ft/metrics.jsonl res/
for f in $(ls ft/samples/*.png | tail -n 2); do cp $f res/; done
tar czf $OUT/results.tgz res
ls -la $OUT
el done
