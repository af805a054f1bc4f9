#!/bin/bash
# device call: smoke test, training throughput probe, benchmarks (issue 6)
set -u
exec > >(tee $OUT/run1.log) 2>&1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
nvidia-smi --query-gpu=name,clocks.max.sm,memory.total --format=csv
el probe b16
timeout -k 10 -s INT 30 $P --headless train --data /root/faces --size 128 --levels 6 --width 0.5 --batch 16 --steps 100000 --out /root/probe --checkpoint-every 100000 --sample-every 100000 --seed 7 > /root/probe.log 2>&1
tail -c 600 /root/probe.log; echo; tail -n 2 /root/probe/metrics.jsonl; wc -l /root/probe/metrics.jsonl
el bench w0.5
timeout -k 5 25 $P bench --levels 6 --width 0.5 --size 128 --batch 16 --reps 5
timeout -k 5 25 $P bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5
el suite
timeout -k 5 70 $P bench --suite --json $OUT/pconv_suite.json --reps 5
timeout -k 5 30 $P bench --levels 7 --size 256 --batch 12 --reps 5
el torch
timeout -k 5 60 python3 tools/bench_torch_cuda.py --ref gpu/ref --out $OUT/torch_cuda.json
el kernels
timeout -k 5 20 $P bench --kernels --reps 5 > $OUT/kernels.txt 2>&1; tail -n 40 $OUT/kernels.txt
el done
