// Gradient of scale * sum |w * (a - b)| with respect to a:
// ga = g[0] * scale * w * sign(w * (a - b)) (sign(0) = 0, as PyTorch's abs).
#import index
#import lanes

struct Params {
    n: u32,
    c: u32,
    hw: u32,
    weight: u32,
    scale: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<VI>;
@group(0) @binding(3) var<storage, read> b: array<VI>;
@group(0) @binding(4) var<storage, read> mask: array<V>;
@group(0) @binding(5) var<storage, read_write> ga: array<VO>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let e = i * LANES;
    if (e >= p.n * p.c * p.hw) {
        return;
    }
    var w = V(1.0);
    if (p.weight != 0u) {
        let m = mask[((e / (p.c * p.hw)) * p.hw + e % p.hw) / LANES];
        w = select(V(1.0) - m, m, p.weight == 1u);
    }
    ga[i] = store_act(g[0] * p.scale * w * sign(w * (load_act(a[i]) - load_act(b[i]))));
}
