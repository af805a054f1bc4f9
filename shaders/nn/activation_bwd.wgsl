// gx = g if y > 0 else slope * g. Uses the activation's output y, which is
// positive exactly where its input is (slope >= 0), so the input can be freed.
// With `vec4` (tensors of whole vec4s) 4 values per invocation.
#import index
#import lanes

struct Params {
    // Elements of V.
    len: u32,
    slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<VI>;
@group(0) @binding(2) var<storage, read> g: array<VI>;
@group(0) @binding(3) var<storage, read_write> gx: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    let gi = load_act(g[i]);
    gx[i] = store_act(select(p.slope * gi, gi, load_act(y[i]) > V(0.0)));
}
