// How the mixed-precision tile kernels read activations and store results
// (after `#import to_f16`): ACT is an activation operand as stored (f16
// with `half_in`) and `stage_act` gives it as f16 for a tile; DST is the
// result as stored (f16 with `half_out`) and `store_dst` converts an f32
// sum to it.
#ifdef half_in
alias ACT = f16;

fn stage_act(v: ACT) -> f16 {
    return v;
}
#else
alias ACT = f32;

fn stage_act(v: ACT) -> f16 {
    return to_f16(v);
}
#endif
#ifdef half_out
alias DST = f16;

fn store_dst(v: f32) -> DST {
    return to_f16(v);
}
#else
alias DST = f32;

fn store_dst(v: f32) -> DST {
    return v;
}
#endif
