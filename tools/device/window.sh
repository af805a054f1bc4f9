#!/bin/bash
# device call: the first call of a GPU window in one script: check.sh (op
# tests, the
# mixed-precision tests with cooperative matrices required, kernels, the
# suite beside PyTorch), then the face model fine-tuned (finetune.sh, EMA
# and cosine decay) for what is left of WINDOW_S seconds, in mixed
# precision where its tests passed and its face step measured faster than
# f32, else in f32, with the steps sized to fit. Carry gpu/pconv.gz,
# gpu/t/*.gz, .gl, gpu/ref and a face pack (pick.py). With the tracked tree
# (38 MB) and the binaries (19 MB) a call has room for about 1,000 faces:
# on fewer than MIN_FACES (default 4000) it does not fine-tune (thousands
# of steps on them would overfit) and says what to run in the next call
# (finetune.sh with a 26 MB pack, while the machine is warm).
# usage: [MIN_FACES=n] window.sh WINDOW_S BATCH
set -u
WINDOW_S=$1; B=$2
t0=$(date +%s)
bash tools/device/check.sh
# Mixed precision with the fastest of its candidate kernels (check.sh
# timed each on the face step; the mixed tests covered them), for the
# whole run, where its tests passed and it beat f32.
source tools/device/best_mixed.sh
f32=$(rate /root/check/face_step_f32.txt)
prec=f32; used=${f32:-400}; best=
if grep -q "^mixed rc 0" $OUT/check.log && [ -n "$MIXED_RATE" ] && [ -n "$f32" ] \
   && awk "BEGIN { exit !($MIXED_RATE > $f32) }"; then
  prec=mixed; used=$MIXED_RATE; best=$MIXED_BEST
  export $MIXED_ENV
fi
# What the export, the copies and the machine's exit need.
left=$(( WINDOW_S - ($(date +%s) - t0) - 45 ))
steps=$(awk "BEGIN { print int($left * $used * 0.9 / $B) }")
faces=$(ls /root/faces 2>/dev/null | wc -l)
echo "face step: f32 ${f32:-?} images/s, mixed ${MIXED_RATE:-?} images/s ($MIXED_BEST): $prec $best ($used images/s), $steps steps in ${left} s, $faces faces"
if [ "$faces" -lt "${MIN_FACES:-4000}" ]; then
  echo "too few faces to fine-tune on; next call: PCONV_PRECISION=$prec PCONV_MMA_DIRECT=${PCONV_MMA_DIRECT:-0} PCONV_MMA_TALL=${PCONV_MMA_TALL:-0} bash tools/device/finetune.sh STEPS 32 with a face pack"
  exit 0
fi
[ "$left" -gt 60 ] && [ "$steps" -gt 0 ] || exit 0
PCONV_PRECISION=$prec LIMIT_S=$left bash tools/device/finetune.sh $steps $B
