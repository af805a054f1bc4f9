// Channel concatenation: y[n] = [a[n] (c_a channels), b[n] (c_b channels)]
#import index
#import lanes

struct Params {
    n: u32,
    c_a: u32,
    c_b: u32,
    hw: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<VI>;
@group(0) @binding(2) var<storage, read> b: array<VI>;
@group(0) @binding(3) var<storage, read_write> y: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let e = i * LANES;
    let c = p.c_a + p.c_b;
    if (e >= p.n * c * p.hw) {
        return;
    }
    let img = e / (c * p.hw);
    let ch = (e / p.hw) % c;
    let pix = e % p.hw;
    if (ch < p.c_a) {
        y[i] = store_act(load_act(a[((img * p.c_a + ch) * p.hw + pix) / LANES]));
    } else {
        y[i] = store_act(load_act(b[((img * p.c_b + ch - p.c_a) * p.hw + pix) / LANES]));
    }
}
