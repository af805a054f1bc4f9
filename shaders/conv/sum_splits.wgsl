// out[i] = sum_s partial[s * len + i]: finishes a split-K reduction in a
// fixed order, so results do not depend on scheduling.
#import index
#import half

struct Params {
    len: u32,
    splits: u32,
    // The sum through a leaky ReLU of `slope` (a fused activation).
    act: u32,
    slope: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<OUT1>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.len) {
        return;
    }
    var s = 0.0;
    for (var k = 0u; k < p.splits; k++) {
        s = s + partial[k * p.len + i];
    }
    if (p.act != 0u) {
        s = select(p.slope * s, s, s > 0.0);
    }
    out[i] = out1(s);
}
