// y[n, c, p] = x[n, start + c, p] for c < c_out: the backward of concat.
#import index
#import lanes

struct Params {
    n: u32,
    c_in: u32,
    c_out: u32,
    start: u32,
    hw: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<VI>;
@group(0) @binding(2) var<storage, read_write> y: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let e = i * LANES;
    if (e >= p.n * p.c_out * p.hw) {
        return;
    }
    let img = e / (p.c_out * p.hw);
    let ch = (e / p.hw) % p.c_out;
    y[i] = store_act(load_act(x[((img * p.c_in + p.start + ch) * p.hw + e % p.hw) / LANES]));
}
