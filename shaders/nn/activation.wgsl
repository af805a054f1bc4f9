// y = x if x > 0 else slope * x   (ReLU: slope 0; LeakyReLU(0.2): slope 0.2);
// with `vec4` (tensors of whole vec4s) 4 values per invocation.
#import index
#import lanes

struct Params {
    // Elements of V.
    len: u32,
    slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<VI>;
@group(0) @binding(2) var<storage, read_write> y: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    let v = load_act(x[i]);
    y[i] = store_act(select(p.slope * v, v, v > V(0.0)));
}
