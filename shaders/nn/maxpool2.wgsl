// 2x2 max-pool, stride 2, floor mode (odd trailing rows/columns dropped).
#import index

struct Params {
    nc: u32,
    h: u32,
    w: u32,
    h_out: u32,
    w_out: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let plane = p.h_out * p.w_out;
    if (i >= p.nc * plane) {
        return;
    }
    let nc = i / plane;
    let oy = (i % plane) / p.w_out;
    let ox = i % p.w_out;
    let base = (nc * p.h + 2u * oy) * p.w + 2u * ox;
    y[i] = max(max(x[base], x[base + 1u]), max(x[base + p.w], x[base + p.w + 1u]));
}
