// dst[i] = f16(src[i]): the f32 operands of the mixed-precision kernels
// (activations, gradients, weights) as f16. A value beyond f16's range
// (|v| > 65504) or not finite becomes an f16 infinity, as PyTorch's
// autocast gives: in training the loss scale then sees the overflow (a
// non-finite gradient) and skips the step, where clipping the value would
// silently bend the gradient.
enable f16;
#import index

struct Params {
    len: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f16>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    let v = src[i];
    if (abs(v) <= 65504.0) {
        dst[i] = f16(v);
    } else {
        // An f16 product past 65504 rounds to infinity (IEEE 754); naga
        // offers no f16 bit pattern. A NaN fails the test above, and its
        // sign stays NaN.
        dst[i] = f16(sign(v)) * f16(65504.0) * f16(2.0);
    }
}
