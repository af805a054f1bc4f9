// Exponential moving average of a tensor, in place after the optimiser
// step: avg = decay * avg + (1 - decay) * x. With `vec4` (tensors of a
// multiple of 4 values) an invocation updates 4 values.
#import index
#import lanes

struct Params {
    // Elements of V.
    len: u32,
    decay: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<V>;
@group(0) @binding(2) var<storage, read_write> avg: array<V>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    avg[i] = p.decay * avg[i] + (1.0 - p.decay) * x[i];
}
