// First pass of the total-variation loss: partial sums of
// |comp[x+1] - comp[x]| and |comp[y+1] - comp[y]| over the pairs whose two
// pixels are both in the region P (one channel per image).
#import reduce

struct Params {
    n: u32,
    c: u32,
    h: u32,
    w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> comp: array<f32>;
@group(0) @binding(2) var<storage, read> region: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let plane = p.h * p.w;
    let len = p.n * p.c * plane;
    var acc = 0.0;
    for (var i = wg.x * 256u + lid; i < len; i += nwg.x * 256u) {
        let r = (i / (p.c * plane)) * plane + i % plane;
        if (region[r] == 0.0) {
            continue;
        }
        let y = (i % plane) / p.w;
        let x = i % p.w;
        if (x + 1u < p.w && region[r + 1u] != 0.0) {
            acc = acc + abs(comp[i + 1u] - comp[i]);
        }
        if (y + 1u < p.h && region[r + p.w] != 0.0) {
            acc = acc + abs(comp[i + p.w] - comp[i]);
        }
    }
    let total = workgroup_sum(lid, acc);
    if (lid == 0u) {
        partial[wg.x] = total;
    }
}
