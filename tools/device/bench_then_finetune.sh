#!/bin/bash
# device call (a short lease): benchmarks of a new build, then a short
# fine-tuning continuation of the model in the tree (issue 6, 7)
# usage: bench_then_finetune.sh FINETUNE_S BATCH
set -u
FT_S=$1; B=$2
exec > >(tee $OUT/run3.log) 2>&1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
el suite
timeout -k 5 60 $P bench --suite --json $OUT/pconv_suite.json --reps 5
for b in 12; do timeout -k 5 20 $P bench --levels 7 --size 256 --batch $b --reps 5; done
for b in 32 64; do timeout -k 5 20 $P bench --levels 6 --width 0.5 --size 128 --batch $b --reps 5; done
el profile
timeout -k 5 30 $P bench --levels 6 --width 0.5 --size 128 --batch $B --reps 3 --profile > $OUT/profile-b$B.txt 2>&1; tail -n 1 $OUT/profile-b$B.txt
el finetune $FT_S s
timeout -k 30 -s INT $FT_S $P --headless train --data /root/faces --finetune --init assets/models/faces128.safetensors --size 128 --batch $B --steps 1000000 --out /root/ft3 --checkpoint-every 100000 --sample-every 1000 --seed 9 > /root/ft3.log 2>&1
tail -c 300 /root/ft3.log; echo
$P export --checkpoint /root/ft3/latest.safetensors --out /root/face-ft3.safetensors
(cd /root && split -b 15M face-ft3.safetensors $OUT/face-ft3.part- )
cp /root/ft3/metrics.jsonl $OUT/ft3-metrics.jsonl
el done
