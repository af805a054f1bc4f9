// Values per invocation of the element-wise kernels: with `vec4` (tensors,
// or planes, of whole vec4s) 4 as one vec4 V, else 1. On lavapipe a load
// costs about the same whatever its width.
#ifdef vec4
alias V = vec4<f32>;
const LANES: u32 = 4u;

fn lanes_sum(v: V) -> f32 {
    return (v.x + v.y) + (v.z + v.w);
}
#else
alias V = f32;
const LANES: u32 = 1u;

fn lanes_sum(v: V) -> f32 {
    return v;
}
#endif
