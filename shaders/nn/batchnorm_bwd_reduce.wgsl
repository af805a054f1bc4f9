// Per-channel sums for the BatchNorm backward pass, one workgroup per
// channel (with `serial`, for small maps, one invocation per channel: no
// barriers): sum_g[c] = sum g (the gradient of beta), sum_gxhat[c] =
// sum g * xhat (the gradient of gamma), xhat = (x - mean) * invstd.
#ifndef serial
#import reduce
#endif

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

// (g, g * xhat) of element e of channel ch, e over (image, position).
fn terms(ch: u32, e: u32, mu: f32, inv: f32) -> vec2<f32> {
    let at = ((e / p.hw) * p.c + ch) * p.hw + e % p.hw;
    let gv = g[at];
    return vec2<f32>(gv, gv * (x[at] - mu) * inv);
}

#ifdef serial
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let ch = gid.x;
    if (ch >= p.c) {
        return;
    }
    let mu = mean[ch];
    let inv = invstd[ch];
    var acc = vec2<f32>(0.0);
    for (var e = 0u; e < p.n * p.hw; e++) {
        acc = acc + terms(ch, e, mu, inv);
    }
    sum_g[ch] = acc.x;
    sum_gxhat[ch] = acc.y;
}
#else
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let ch = wg.x;
    let mu = mean[ch];
    let inv = invstd[ch];
    var acc = vec2<f32>(0.0);
    for (var e = lid; e < p.n * p.hw; e += 256u) {
        acc = acc + terms(ch, e, mu, inv);
    }
    let total_g = workgroup_sum(lid, acc.x);
    let total_gx = workgroup_sum(lid, acc.y);
    if (lid == 0u) {
        sum_g[ch] = total_g;
        sum_gxhat[ch] = total_gx;
    }
}
#endif
