// Zero padding on all four sides: y[nc, py, px] = x[nc, py - pad, px - pad]
// inside, 0 outside; output rows are `pitch` floats (>= w + 2 pad, a
// multiple of 4 so that kernels can load aligned vec4s). Convolutions read
// the padded copy so that their inner loops need no bounds checks (about
// twice as fast on lavapipe). One invocation writes 4 floats; with `texels`
// the copy is a texel array (common/texels.wgsl) instead of a buffer.
#import index

struct Params {
    nc: u32,
    h: u32,
    w: u32,
    pad: u32,
    pitch: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
#ifdef texels
#import texels
@group(0) @binding(2) var y: texture_storage_2d<rgba32float, write>;
#else
@group(0) @binding(2) var<storage, read_write> y: array<vec4<f32>>;
#endif

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
    let i = flat_index(wg, nwg, lid);
    let hp = p.h + 2u * p.pad;
    let wp4 = p.pitch / 4u;
    if (i >= p.nc * hp * wp4) {
        return;
    }
    let nc = i / (hp * wp4);
    // Unsigned wrap-around makes coordinates left of / above the image huge.
    let yy = (i / wp4) % hp - p.pad;
    let x0 = (i % wp4) * 4u - p.pad;
    var v = vec4<f32>(0.0);
    if (yy < p.h) {
        let row = (nc * p.h + yy) * p.w;
        for (var j = 0u; j < 4u; j++) {
            let xx = x0 + j;
            if (xx < p.w) {
                v[j] = x[row + xx];
            }
        }
    }
#ifdef texels
    textureStore(y, texel_at(i), v);
#else
    y[i] = v;
#endif
}
