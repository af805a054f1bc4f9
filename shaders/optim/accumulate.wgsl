// Gradient accumulation, in place: acc = grad on a step's first
// micro-batch (`first[0]` != 0), else acc + grad. A select, not a
// multiply by 0, so a stale non-finite acc cannot leak into a new step.
// With `vec4` (tensors of a multiple of 4 values) an invocation updates 4
// values.
#import index
#import lanes

struct Params {
    // Elements of V.
    len: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> first: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<V>;
@group(0) @binding(3) var<storage, read_write> acc: array<V>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    let g = grad[i];
    acc[i] = select(acc[i] + g, g, first[0] != 0.0);
}
