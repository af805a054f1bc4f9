// BatchNorm input gradient.
// train: gx = gamma * invstd * (g - sum_g / M - xhat * sum_gxhat / M), M = N*H*W
// eval (running statistics are constants): gx = g * gamma * invstd
// With `vec4` (planes of whole vec4s) 4 values of one channel per invocation.
#import index
#import lanes

struct Params {
    n: u32,
    c: u32,
    hw: u32,
    train: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<VI>;
@group(0) @binding(2) var<storage, read> x: array<VI>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> invstd: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> sum_gxhat: array<f32>;
@group(0) @binding(7) var<storage, read> sum_g: array<f32>;
@group(0) @binding(8) var<storage, read_write> gx: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let e = i * LANES;
    if (e >= p.n * p.c * p.hw) {
        return;
    }
    let ch = (e / p.hw) % p.c;
    let scale = gamma[ch] * invstd[ch];
    if (p.train == 0u) {
        gx[i] = store_act(load_act(g[i]) * scale);
        return;
    }
    let m = f32(p.n * p.hw);
    let xhat = (load_act(x[i]) - mean[ch]) * invstd[ch];
    gx[i] = store_act(scale * (load_act(g[i]) - sum_g[ch] / m - xhat * sum_gxhat[ch] / m));
}
