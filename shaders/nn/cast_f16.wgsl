// dst[i] = f16(src[i]): the f32 operands of the mixed-precision kernels
// (activations, gradients, weights) as f16, saturated to +-65504 (the
// largest f16) where a value would overflow, so a large activation clips
// instead of becoming infinite.
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
    dst[i] = f16(clamp(src[i], -65504.0, 65504.0));
}
