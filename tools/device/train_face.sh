#!/bin/bash
# device call: train the face model (issue 7), fine-tune, export, evaluate
# usage: [INIT=checkpoint] [LR=lr] train_face.sh TRAIN_S FINETUNE_S BATCH
set -u
TRAIN_S=$1; FT_S=$2; B=$3
exec > >(tee $OUT/run2.log) 2>&1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
INIT_ARG=${INIT:+--init $INIT}; LR_ARG=${LR:+--lr $LR}

el train $TRAIN_S s batch $B
timeout -k 60 -s INT $TRAIN_S $P --headless train --data /root/faces --size ${SIZE:-128} --levels ${LEVELS:-6} --width ${WIDTH:-0.5} --batch $B $INIT_ARG $LR_ARG --steps 1000000 --out /root/pre --checkpoint-every 2000 --sample-every 1000 --seed 7 > /root/pre.log 2>&1
tail -c 400 /root/pre.log; echo
el finetune $FT_S s
timeout -k 60 -s INT $FT_S $P --headless train --data /root/faces --finetune --init /root/pre/latest.safetensors --size ${SIZE:-128} --batch $B --steps 1000000 --out /root/ft --checkpoint-every 2000 --sample-every 500 --seed 8 > /root/ft.log 2>&1
tail -c 400 /root/ft.log; echo
el export
$P export --checkpoint /root/ft/latest.safetensors --out /root/face-ft.safetensors
$P export --checkpoint /root/pre/latest.safetensors --out /root/face-pre.safetensors
(cd /root && split -b 15M face-ft.safetensors $OUT/face-ft.part- )
el eval
[ -d gpu/eval ] && timeout -k 5 45 $P eval --no-losses --checkpoint /root/face-ft.safetensors --images gpu/eval/faces --masks gpu/eval/masks --size ${SIZE:-128} --json /root/eval-ft.json > /root/eval-ft.txt 2>&1; tail -n 12 /root/eval-ft.txt
el pack
(cd /root && split -b 15M face-pre.safetensors $OUT/face-pre.part- )
cd /root && mkdir -p res && cp pre.log ft.log eval-*.txt eval-*.json res/ 2>/dev/null; cp pre/metrics.jsonl res/pre-metrics.jsonl; cp ft/metrics.jsonl res/ft-metrics.jsonl
cp $(ls pre/samples/*.png | tail -n 3) res/ 2>/dev/null; for f in $(ls ft/samples/*.png | tail -n 2); do cp $f res/ft-$(basename $f); done
tar czf $OUT/results.tgz res
ls -la $OUT
el done
