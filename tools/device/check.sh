#!/bin/bash
# device call: a new build's op tests on the real GPU (the carried, stripped
# test binaries gpu/t/ops_gpu_vs_cpu.gz and gpu/t/mixed_precision.gz: the
# f16 kernels, cooperative matrices required), the kernel GFLOP/s in f32
# and mixed precision, per-kernel profiles of the
# face-model step and of inference, `bench --suite`, and PyTorch on CUDA (fp32,
# its TF32 default, AMP bf16 and fp16) beside it (issues 6, 21)
set -u
exec > >(tee $OUT/check.log) 2>&1
# Everything but this log goes to $R, packed into $OUT/check.tgz after
# every step (a call brings back at most 8 files; a timeout keeps the
# last pack).
R=/root/check; mkdir -p $R
pack() { tar czf $OUT/check.tgz -C $R . 2>/dev/null; }
t0=$(date +%s); el() { pack; echo "[$(( $(date +%s) - t0 )) s] $*"; }
source tools/device/setup.sh
mv $OUT/info.txt $R/ 2>/dev/null
nvidia-smi --query-gpu=name,clocks.max.sm,memory.total,driver_version --format=csv
el ops tests
gunzip -c gpu/t/ops_gpu_vs_cpu.gz > /root/pc/ops && chmod +x /root/pc/ops
# (the full output is kept only on failure)
PCONV_REQUIRE_GPU=1 timeout -k 5 ${OPS_S:-100} /root/pc/ops --test-threads 8 > /root/ops.txt 2>&1; rc=$?; echo "ops rc $rc"
grep -E "^test result|FAILED|panicked" /root/ops.txt | head -20; [ $rc = 0 ] || cp /root/ops.txt $R/
el mixed-precision kernels: plain twin and cooperative matrices against the CPU
$P info | grep -A 6 "^precision"
if [ -f gpu/t/mixed_precision.gz ]; then
  gunzip -c gpu/t/mixed_precision.gz > /root/pc/mixed && chmod +x /root/pc/mixed
  PCONV_PRECISION=mixed PCONV_REQUIRE_GPU=1 PCONV_REQUIRE_COOP=1 timeout -k 5 ${MIXED_S:-120} /root/pc/mixed --test-threads 1 > /root/mixed.txt 2>&1; rc=$?; echo "mixed rc $rc"
  grep -E "^test |^test result|panicked|bound" /root/mixed.txt | head -20; [ $rc = 0 ] || cp /root/mixed.txt $R/
fi
el "tensor-core peak through wgpu (tiles in registers; reloaded from workgroup memory)"
timeout -k 5 30 $P --precision mixed bench --peak --reps 5 2>&1 | tee $R/peak.txt
el kernels f32 and mixed
PCONV_PRECISION=mixed timeout -k 5 90 $P bench --kernels --reps 5 > $R/kernels.txt 2>&1; cat $R/kernels.txt
el mixed precision: face-model step and suite, the same configurations
timeout -k 5 30 $P --precision mixed bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tee $R/face_step_mixed.txt | tail -n 3
el "the same step with the 128-row tensor-core blocks (the candidate bench --kernels times as 'coop tall')"
PCONV_MMA_TALL=1 timeout -k 5 30 $P --precision mixed bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tee $R/face_step_mixed_tall.txt | tail -n 1
el "the same step with the 3x3 stride-1 kernel (conv3x3_mma, 'coop direct' in bench --kernels), then with both candidates"
PCONV_MMA_DIRECT=1 timeout -k 5 30 $P --precision mixed bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tee $R/face_step_mixed_direct.txt | tail -n 1
PCONV_MMA_DIRECT=1 PCONV_MMA_TALL=1 timeout -k 5 30 $P --precision mixed bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tee $R/face_step_mixed_direct_tall.txt | tail -n 1
# The rest of mixed precision runs with the fastest of those.
source tools/device/best_mixed.sh
echo "fastest mixed kernels on the face step: $MIXED_BEST (${MIXED_RATE:-?} images/s): $MIXED_ENV" | tee $R/mixed_best.txt
el "that step with activations stored as f32 (f16 storage off)"
env $MIXED_ENV PCONV_F32_STORAGE=1 timeout -k 5 30 $P --precision mixed bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tail -n 1
el profile L6 w0.5 128 b32 mixed
env $MIXED_ENV timeout -k 5 30 $P --precision mixed bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 3 --profile > $R/profile-mixed-L6w05-128-b32.txt 2>&1; tail -n 2 $R/profile-mixed-L6w05-128-b32.txt
env $MIXED_ENV timeout -k 5 90 $P --precision mixed bench --suite --json $R/pconv_suite_mixed.json --reps 3 > $R/suite_mixed.txt 2>&1; tail -n 12 $R/suite_mixed.txt
el profile L6 w0.5 128 b32
timeout -k 5 30 $P bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 3 --profile > $R/profile-L6w05-128-b32.txt 2>&1; tail -n 2 $R/profile-L6w05-128-b32.txt
el suite
timeout -k 5 60 $P bench --suite --json $R/pconv_suite.json --reps 3 > $R/suite.txt 2>&1; tail -n 12 $R/suite.txt
timeout -k 5 20 $P bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tee $R/face_step_f32.txt | tail -n 4
el "the same step with BatchNorm's activations run apart (no fusion)"
PCONV_NO_FUSION=1 timeout -k 5 20 $P bench --levels 6 --width 0.5 --size 128 --batch 32 --reps 5 | tail -n 1
el "accumulation L7 256 b12: the split step and a full-width gradient round trip (issue 25)"
timeout -k 5 30 $P bench --levels 7 --size 256 --batch 12 --accum 2 --reps 3 | tail -n 2
el profile inference
timeout -k 5 30 $P bench --suite --only infer --reps 3 --profile > $R/profile-infer.txt 2>&1; grep "^infer" $R/profile-infer.txt
el torch
[ -d gpu/ref ] && timeout -k 5 ${TORCH_S:-150} python3 tools/bench_torch_cuda.py --ref gpu/ref --out $R/torch_cuda.json > $R/torch.txt 2>&1; tail -n 20 $R/torch.txt
el done
pack
