// Values per invocation of the element-wise kernels: with `vec4` (tensors,
// or planes, of whole vec4s) 4 as one vec4 V, else 1. On lavapipe a load
// costs about the same whatever its width.
#ifdef vec4
alias V = vec4<f32>;
const LANES: u32 = 4u;
#else
alias V = f32;
const LANES: u32 = 1u;
#endif
