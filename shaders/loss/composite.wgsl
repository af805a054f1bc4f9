// I_comp = M * I_gt + (1 - M) * I_out, M one channel per image (1 = known).
#import index

struct Params {
    n: u32,
    c: u32,
    hw: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> out: array<f32>;
@group(0) @binding(2) var<storage, read> gt: array<f32>;
@group(0) @binding(3) var<storage, read> mask: array<f32>;
@group(0) @binding(4) var<storage, read_write> comp: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    if (i >= p.n * p.c * p.hw) {
        return;
    }
    let m = mask[(i / (p.c * p.hw)) * p.hw + i % p.hw];
    comp[i] = m * gt[i] + (1.0 - m) * out[i];
}
