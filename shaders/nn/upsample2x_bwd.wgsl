// Backward of nearest x2 upsampling: gx[nc, y, x] = sum of the 2x2 block of g.
#import index

struct Params {
    nc: u32,
    h: u32,
    w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> g: array<f32>;
@group(0) @binding(2) var<storage, read_write> gx: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let plane = p.h * p.w;
    if (i >= p.nc * plane) {
        return;
    }
    let nc = i / plane;
    let y = (i % plane) / p.w;
    let x = i % p.w;
    let w2 = 2u * p.w;
    let base = (nc * 2u * p.h + 2u * y) * w2 + 2u * x;
    gx[i] = (g[base] + g[base + 1u]) + (g[base + w2] + g[base + w2 + 1u]);
}
