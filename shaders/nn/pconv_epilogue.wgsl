// Inference's tail of a partial-convolution layer in one pass (instead of
// rescale, BatchNorm, activation and mask multiply, each a pass over the
// map): y = known ? act(BN(x * ratio + bias)) * known : 0, the bias only
// where ratio != 0, BatchNorm with the running statistics, act a leaky ReLU
// of `slope` (0: ReLU). x is the raw convolution [n, c, hw]; ratio and known
// are [n, 1, hw]. With `vec4` (planes of whole vec4s) 4 values per
// invocation.
#import index
#import lanes

struct Params {
    n: u32,
    c: u32,
    hw: u32,
    has_bias: u32,
    has_bn: u32,
    eps: f32,
    slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<VI>;
@group(0) @binding(2) var<storage, read> ratio: array<V>;
@group(0) @binding(3) var<storage, read> known: array<V>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read> gamma: array<f32>;
@group(0) @binding(6) var<storage, read> beta: array<f32>;
@group(0) @binding(7) var<storage, read> mean: array<f32>;
@group(0) @binding(8) var<storage, read> variance: array<f32>;
@group(0) @binding(9) var<storage, read_write> y: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let e = i * LANES;
    if (e >= p.n * p.c * p.hw) {
        return;
    }
    let ch = (e / p.hw) % p.c;
    let pixel = ((e / (p.c * p.hw)) * p.hw + e % p.hw) / LANES;
    let m = known[pixel];
    let r = ratio[pixel];
    var v = load_act(x[i]) * r;
    if (p.has_bias != 0u) {
        v = select(v, v + bias[ch], r != V(0.0));
    }
    if (p.has_bn != 0u) {
        v = (v - mean[ch]) * inverseSqrt(variance[ch] + p.eps) * gamma[ch] + beta[ch];
    }
    v = select(v * p.slope, v, v > V(0.0));
    // Holes are exactly 0, whatever the fill computed there.
    y[i] = store_act(select(v * m, V(0.0), m == V(0.0)));
}
