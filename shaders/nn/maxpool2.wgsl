// 2x2 max-pool, stride 2, floor mode (odd trailing rows/columns dropped).
// With `vec4` (even h, w a multiple of 4: no dropped pixels, input rows of
// whole vec4s) an invocation pools two windows from two vec4 loads.
#import index

struct Params {
    nc: u32,
    h: u32,
    w: u32,
    h_out: u32,
    w_out: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#ifdef vec4
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> y2: array<vec2<f32>>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let plane = p.h_out * p.w_out;
#ifdef vec4
    // Windows 2i and 2i + 1: input columns 4 (i % (w_out / 2)) .. + 3 of
    // rows 2 oy and 2 oy + 1.
    if (2u * i >= p.nc * plane) {
        return;
    }
    let half = p.w_out / 2u;
    let row = i / half;
    let top = x4[(2u * row) * half + i % half];
    let bottom = x4[(2u * row + 1u) * half + i % half];
    let m = max(top, bottom);
    y2[i] = vec2<f32>(max(m.x, m.y), max(m.z, m.w));
#else
    if (i >= p.nc * plane) {
        return;
    }
    let nc = i / plane;
    let oy = (i % plane) / p.w_out;
    let ox = i % p.w_out;
    let base = (nc * p.h + 2u * oy) * p.w + 2u * ox;
    y[i] = max(max(x[base], x[base + 1u]), max(x[base + p.w], x[base + p.w + 1u]));
#endif
}
