// y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c]; with `vec4` (planes
// of whole vec4s) 4 values of one channel per invocation.
#import index
#import lanes

struct Params {
    n: u32,
    c: u32,
    hw: u32,
    // The result through a leaky ReLU of `slope` (a fused activation).
    act: u32,
    slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<VI>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> invstd: array<f32>;
@group(0) @binding(4) var<storage, read> gamma: array<f32>;
@group(0) @binding(5) var<storage, read> beta: array<f32>;
@group(0) @binding(6) var<storage, read_write> y: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let e = i * LANES;
    if (e >= p.n * p.c * p.hw) {
        return;
    }
    let ch = (e / p.hw) % p.c;
    var v = (load_act(x[i]) - mean[ch]) * invstd[ch] * gamma[ch] + beta[ch];
    if (p.act != 0u) {
        v = select(p.slope * v, v, v > V(0.0));
    }
    y[i] = store_act(v);
}
