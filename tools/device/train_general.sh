#!/bin/bash
# device call (issue 24): train the general model on the photos carried so
# far (gpu/general*.tar from pick_general.py), starting from the face
# model's weights (its low-level filters transfer; the first layers see
# the same kind of holes), at 128x128 crops taken at a random scale of
# 1-2x (photos are inpainted at 256 and more), the larger photos shown 4
# times per epoch, with a moving average of the weights. A later call on
# the same warm machine continues the run exactly (--resume) with any
# photos it added. Stopped by SIGINT after RUN_S seconds (which saves);
# exports the averaged weights and brings back the log, metrics, samples.
# usage: [LR=lr] [INIT=ck] train_general.sh RUN_S BATCH
set -u
RUN_S=$1; B=$2
exec > >(tee $OUT/general.log) 2>&1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
DATA="--data /root/general/small --data /root/general/large:4"
if [ -f /root/gen/latest.safetensors ]; then START="--resume /root/gen/latest.safetensors"
else START="--init ${INIT:-assets/models/faces128.safetensors} --size 128 --crop-scale 1:2 --batch $B --seed 21 --lr ${LR:-1e-4} --ema 0.999"; fi
el train $RUN_S s: $START
el "precision ${PCONV_PRECISION:-f32}, 3x3 kernels ${PCONV_MMA_DIRECT:-0}, 128-row blocks ${PCONV_MMA_TALL:-0}"
timeout -k 60 -s INT $RUN_S $P --headless train $DATA $START --steps 1000000 --out /root/gen --checkpoint-every 2000 --sample-every 1000 >> /root/gen.log 2>&1
tail -c 400 /root/gen.log; echo
el export
$P export --checkpoint /root/gen/latest.safetensors --out /root/general.safetensors
(cd /root && split -b 15M general.safetensors $OUT/general.part- )
cd /root && mkdir -p resg && cp gen.log gen/metrics.jsonl resg/
for f in $(ls gen/samples/*.png | tail -n 2); do cp $f resg/; done
tar czf $OUT/results-general.tgz resg
ls -la $OUT
el done
