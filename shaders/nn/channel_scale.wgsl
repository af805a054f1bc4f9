// y[n, c, p] = x[n, c, p] * s'[n, p] (+ bias[c] where s'[n, p] != 0),
// s' = s or 1 - s. One kernel for: the mask multiply X * M, the partial
// convolution's rescale (s = ratio, with bias: holes stay exactly 0), and
// their backward passes (and the composite's, with s' = 1 - M).
#import index
#import lanes

struct Params {
    n: u32,
    c: u32,
    hw: u32,
    invert: u32,
    has_bias: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<VI>;
@group(0) @binding(2) var<storage, read> s: array<V>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let e = i * LANES;
    if (e >= p.n * p.c * p.hw) {
        return;
    }
    let img = e / (p.c * p.hw);
    let ch = (e / p.hw) % p.c;
    var scale = s[(img * p.hw + e % p.hw) / LANES];
    if (p.invert != 0u) {
        scale = V(1.0) - scale;
    }
    var v = load_act(x[i]) * scale;
    if (p.has_bias != 0u) {
        v = v + select(V(0.0), V(bias[ch]), scale != V(0.0));
    }
    y[i] = store_act(v);
}
