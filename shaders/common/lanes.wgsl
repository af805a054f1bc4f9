// Values per invocation of the element-wise kernels: with `vec4` (tensors,
// or planes, of whole vec4s) 4 as one vec4 V, else 1. On lavapipe a load
// costs about the same whatever its width.
// Activations are stored as VI (read) and VO (written): V itself, or its
// f16 form with `half_in` / `half_out` (module `half`); `load_act` and
// `store_act` convert.
#import half
#ifdef vec4
alias V = vec4<f32>;
alias VI = IN4;
alias VO = OUT4;
const LANES: u32 = 4u;

fn lanes_sum(v: V) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}

fn store_act(v: V) -> VO {
    return out4(v);
}
#else
alias V = f32;
alias VI = IN1;
alias VO = OUT1;
const LANES: u32 = 1u;

fn lanes_sum(v: V) -> f32 {
    return v;
}

fn store_act(v: V) -> VO {
    return out1(v);
}
#endif

fn load_act(v: VI) -> V {
    return V(v);
}
