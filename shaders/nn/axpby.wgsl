// y = alpha * a + beta * b (or alpha * a without b): gradient accumulation,
// weighted loss sums and scaled gradients. With `vec4` (tensors of whole
// vec4s) 4 values per invocation.
#import index
#import lanes

struct Params {
    len: u32,
    has_b: u32,
    alpha: f32,
    beta: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<VI>;
@group(0) @binding(2) var<storage, read> b: array<VI>;
@group(0) @binding(3) var<storage, read_write> y: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    var v = p.alpha * load_act(a[i]);
    if (p.has_b != 0u) {
        v = v + p.beta * load_act(b[i]);
    }
    y[i] = store_act(v);
}
