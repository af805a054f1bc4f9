// Per-channel sums for the BatchNorm backward pass, one workgroup per channel:
// sum_g[c] = sum g (the gradient of beta), sum_gxhat[c] = sum g * xhat (the
// gradient of gamma), xhat = (x - mean) * invstd.
#import reduce

struct Params {
    n: u32,
    c: u32,
    hw: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> invstd: array<f32>;
@group(0) @binding(5) var<storage, read_write> sum_gxhat: array<f32>;
@group(0) @binding(6) var<storage, read_write> sum_g: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let ch = wg.x;
    let mu = mean[ch];
    let inv = invstd[ch];
    var acc_g = 0.0;
    var acc_gx = 0.0;
    for (var e = lid; e < p.n * p.hw; e += 256u) {
        let at = ((e / p.hw) * p.c + ch) * p.hw + e % p.hw;
        acc_g = acc_g + g[at];
        acc_gx = acc_gx + g[at] * (x[at] - mu) * inv;
    }
    let total_g = workgroup_sum(lid, acc_g);
    let total_gx = workgroup_sum(lid, acc_gx);
    if (lid == 0u) {
        sum_g[ch] = total_g;
        sum_gxhat[ch] = total_gx;
    }
}
