#!/bin/bash
# device call: the first call of a GPU window in one script, so no second
# call has to catch the machine warm: check.sh (op tests, the
# mixed-precision tests with cooperative matrices required, kernels, the
# suite beside PyTorch), then the face model fine-tuned (finetune.sh, EMA
# and cosine decay) for what is left of WINDOW_S seconds, in mixed
# precision where its tests passed and its face step measured faster than
# f32, else in f32, with the steps sized to fit. Carry gpu/pconv.gz,
# gpu/t/*.gz, .gl, gpu/ref and a face pack (pick.py).
# usage: window.sh WINDOW_S BATCH
set -u
WINDOW_S=$1; B=$2
t0=$(date +%s)
bash tools/device/check.sh
rate() { grep -o '[0-9.]* images/s' "$1" 2>/dev/null | tail -n 1 | cut -d' ' -f1; }
f32=$(rate $OUT/face_step_f32.txt); mixed=$(rate $OUT/face_step_mixed.txt)
prec=f32; used=${f32:-400}
if grep -q "^mixed rc 0" $OUT/check.log && [ -n "$mixed" ] && [ -n "$f32" ] \
   && awk "BEGIN { exit !($mixed > $f32) }"; then
  prec=mixed; used=$mixed
fi
# What the export, the copies and the machine's exit need.
left=$(( WINDOW_S - ($(date +%s) - t0) - 45 ))
steps=$(awk "BEGIN { print int($left * $used * 0.9 / $B) }")
echo "face step: f32 ${f32:-?} images/s, mixed ${mixed:-?} images/s: fine-tune in $prec, $steps steps in ${left} s"
[ "$left" -gt 60 ] && [ "$steps" -gt 0 ] || exit 0
PCONV_PRECISION=$prec LIMIT_S=$left bash tools/device/finetune.sh $steps $B
