#!/bin/bash
# device call: a new build's op tests on the real GPU (the carried, stripped
# test binaries gpu/t/ops_gpu_vs_cpu.gz and gpu/t/mixed_precision.gz: the
# f16 kernels, cooperative matrices required), the kernel GFLOP/s in f32
# and mixed precision, per-kernel profiles of the
# face-model step and of inference, `bench --suite`, and PyTorch on CUDA (fp32,
# its TF32 default, AMP bf16 and fp16) beside it (issues 6, 21)
set -u
exec > >(tee $OUT/check.log) 2>&1
t0=$(date +%s); el() { echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
nvidia-smi --query-gpu=name,clocks.max.sm,memory.total,driver_version --format=csv
el ops tests
gunzip -c gpu/t/ops_gpu_vs_cpu.gz > /root/pc/ops && chmod +x /root/pc/ops
# (the full output comes back only on failure: $OUT holds 8 files at most)
PCONV_REQUIRE_GPU=1 timeout -k 5 ${OPS_S:-100} /root/pc/ops --test-threads 8 > /root/ops.txt 2>&1; rc=$?; echo "ops rc $rc"
grep -E "^test result|FAILED|panicked" /root/ops.txt | head -20; [ $rc = 0 ] || cp /root/ops.txt $OUT/
el mixed-precision kernels: plain twin and cooperative matrices against the CPU
$P info | grep -A 6 "^precision"
if [ -f gpu/t/mixed_precision.gz ]; then
  gunzip -c gpu/t/mixed_precision.gz > /root/pc/mixed && chmod +x /root/pc/mixed
  PCONV_PRECISION=mixed PCONV_REQUIRE_GPU=1 PCONV_REQUIRE_COOP=1 timeout -k 5 60 /root/pc/mixed --test-threads 1 > /root/mixed.txt 2>&1; rc=$?; echo "mixed rc $rc"
  grep -E "^test |^test result|panicked|bound" /root/mixed.txt | head -20; [ $rc = 0 ] || cp /root/mixed.txt $OUT/
fi
el kernels f32 and mixed
PCONV_PRECISION=mixed timeout -k 5 90 $P bench --kernels --reps 5 > $OUT/kernels.txt 2>&1; cat $OUT/kernels.txt
el mixed precision: face-model step and suite, the same configurations
timeout -k 5 30 $P --precision mixed bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tee $OUT/face_step_mixed.txt | tail -n 3
el "the same step with the 128-row tensor-core blocks (the candidate bench --kernels times as 'coop tall')"
PCONV_MMA_TALL=1 timeout -k 5 30 $P --precision mixed bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tail -n 1
timeout -k 5 90 $P --precision mixed bench --suite --json $OUT/pconv_suite_mixed.json --reps 3 > $OUT/suite_mixed.txt 2>&1; tail -n 12 $OUT/suite_mixed.txt
el profile L6 w0.5 128 b32
timeout -k 5 30 $P bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 3 --profile > $OUT/profile-L6w05-128-b32.txt 2>&1; tail -n 2 $OUT/profile-L6w05-128-b32.txt
el suite
timeout -k 5 60 $P bench --suite --json $OUT/pconv_suite.json --reps 3 > $OUT/suite.txt 2>&1; tail -n 12 $OUT/suite.txt
timeout -k 5 20 $P bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tee $OUT/face_step_f32.txt | tail -n 4
el "accumulation L7 256 b12: the split step and a full-width gradient round trip (issue 25)"
timeout -k 5 30 $P bench --levels 7 --size 256 --batch 12 --accum 2 --reps 3 | tail -n 2
el profile inference
timeout -k 5 30 $P bench --suite --only infer --reps 3 --profile > $OUT/profile-infer.txt 2>&1; grep "^infer" $OUT/profile-infer.txt
el torch
[ -d gpu/ref ] && timeout -k 5 ${TORCH_S:-150} python3 tools/bench_torch_cuda.py --ref gpu/ref --out $OUT/torch_cuda.json > $OUT/torch.txt 2>&1; tail -n 20 $OUT/torch.txt
el done
