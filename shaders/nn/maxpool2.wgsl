// 2x2 max-pool, stride 2, floor mode (odd trailing rows/columns dropped).
// With `vec4` (even h, w a multiple of 4: no dropped pixels, input rows of
// whole vec4s) an invocation pools two windows from two vec4 loads.
#import index
#import half

struct Params {
    nc: u32,
    h: u32,
    w: u32,
    h_out: u32,
    w_out: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#ifdef vec4
@group(0) @binding(1) var<storage, read> x4: array<IN4>;
@group(0) @binding(2) var<storage, read_write> y2: array<OUT2>;
#else
@group(0) @binding(1) var<storage, read> x: array<IN1>;
@group(0) @binding(2) var<storage, read_write> y: array<OUT1>;
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
    let top = vec4<f32>(x4[(2u * row) * half + i % half]);
    let bottom = vec4<f32>(x4[(2u * row + 1u) * half + i % half]);
    let m = max(top, bottom);
    y2[i] = out2(vec2<f32>(max(m.x, m.y), max(m.z, m.w)));
#else
    if (i >= p.nc * plane) {
        return;
    }
    let nc = i / plane;
    let oy = (i % plane) / p.w_out;
    let ox = i % p.w_out;
    let base = (nc * p.h + 2u * oy) * p.w + 2u * ox;
    let top = max(f32(x[base]), f32(x[base + 1u]));
    y[i] = out1(max(top, max(f32(x[base + p.w]), f32(x[base + p.w + 1u]))));
#endif
}
