#!/bin/bash
# device call (issue 7): fine-tune the model in the tree on the
# faces carried so far (the paper's second stage: encoder BatchNorm frozen,
# lr 5e-5), or continue this machine's earlier run 5 exactly (--resume);
# stopped by SIGINT after FINETUNE_S seconds, which saves a checkpoint.
# usage: [LR=lr] finetune_for_seconds.sh FINETUNE_S BATCH
set -u
FT_S=$1; B=$2
exec > >(tee $OUT/run5.log) 2>&1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
if [ -f /root/ft5/latest.safetensors ]; then START="--resume /root/ft5/latest.safetensors"
else START="--finetune --init assets/models/faces128.safetensors --size 128 --batch $B --seed 11 ${LR:+--lr $LR}"; fi
el finetune $FT_S s: $START
timeout -k 60 -s INT $FT_S $P --headless train --data /root/faces $START --steps 1000000 --out /root/ft5 --checkpoint-every 2000 --sample-every 1000 >> /root/ft5.log 2>&1
tail -c 400 /root/ft5.log; echo
el export
$P export --checkpoint /root/ft5/latest.safetensors --out /root/face-ft5.safetensors
(cd /root && split -b 15M face-ft5.safetensors $OUT/face-ft5.part- )
cd /root && mkdir -p res5 && cp ft5.log ft5/metrics.jsonl res5/
for f in $(ls ft5/samples/*.png | tail -n 2); do cp $f res5/; done
tar czf $OUT/results5.tgz res5
ls -la $OUT
el done
