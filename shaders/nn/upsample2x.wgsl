// Nearest-neighbour x2 upsampling: y[nc, oy, ox] = x[nc, oy / 2, ox / 2]
#import index

struct Params {
    nc: u32,
    h: u32,
    w: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let w2 = 2u * p.w;
    let plane = 4u * p.h * p.w;
    if (i >= p.nc * plane) {
        return;
    }
    let nc = i / plane;
    let oy = (i % plane) / w2;
    let ox = i % w2;
    y[i] = x[(nc * p.h + oy / 2u) * p.w + ox / 2u];
}
