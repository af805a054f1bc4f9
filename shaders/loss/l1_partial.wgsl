// First pass of a masked L1 mean: each of the fixed number of workgroups
// writes sum |w * (a - b)| over its grid-strided share of elements, where
// w = 1 (weight 0), M (weight 1) or 1 - M (weight 2); M has one channel.
// sum_partials then adds the partial sums in order and scales by 1/N.
#import reduce
#import lanes

struct Params {
    n: u32,
    c: u32,
    hw: u32,
    weight: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<VI>;
@group(0) @binding(2) var<storage, read> b: array<VI>;
@group(0) @binding(3) var<storage, read> mask: array<V>;
@group(0) @binding(4) var<storage, read_write> partial: array<f32>;

// The weights of values e.. (LANES of them, in one plane).
fn l1_weight(e: u32) -> V {
    if (p.weight == 0u) {
        return V(1.0);
    }
    let m = mask[((e / (p.c * p.hw)) * p.hw + e % p.hw) / LANES];
    return select(V(1.0) - m, m, p.weight == 1u);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let items = p.n * p.c * p.hw / LANES;
    var acc = 0.0;
    for (var i = wg.x * 256u + lid; i < items; i += nwg.x * 256u) {
        acc = acc + lanes_sum(abs(l1_weight(i * LANES) * (load_act(a[i]) - load_act(b[i]))));
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        partial[wg.x] = total;
    }
}
