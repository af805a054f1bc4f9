# sourced after check.sh's face steps (check.sh, window.sh): the fastest
# of mixed precision's candidate kernels on the face step, from the rates
# in /root/check/face_step_mixed*.txt. Sets MIXED_RATE (images/s, empty
# if none was timed), MIXED_BEST (plain, tall, direct or direct_tall) and
# MIXED_ENV, the switches that select it ("PCONV_MMA_DIRECT=0|1
# PCONV_MMA_TALL=0|1", for `env $MIXED_ENV ...`).
rate() { grep -o '[0-9.]* images/s' "$1" 2>/dev/null | tail -n 1 | cut -d' ' -f1; }
MIXED_RATE=$(rate /root/check/face_step_mixed.txt); MIXED_BEST=plain
for c in tall direct direct_tall; do
  r=$(rate /root/check/face_step_mixed_$c.txt)
  if [ -n "$r" ] && { [ -z "$MIXED_RATE" ] || awk "BEGIN { exit !($r > $MIXED_RATE) }"; }; then
    MIXED_RATE=$r; MIXED_BEST=$c
  fi
done
case $MIXED_BEST in *direct*) d=1 ;; *) d=0 ;; esac
case $MIXED_BEST in *tall*) t=1 ;; *) t=0 ;; esac
MIXED_ENV="PCONV_MMA_DIRECT=$d PCONV_MMA_TALL=$t"
