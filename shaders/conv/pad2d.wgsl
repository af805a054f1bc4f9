// Zero padding on all four sides: y[nc, py, px] = x[nc, py - pad, px - pad]
// inside, 0 outside; output rows are `pitch` floats (>= w + 2 pad, a
// multiple of 4 so that kernels can load aligned vec4s). Convolutions read
// the padded copy so that their inner loops need no bounds checks (about
// twice as fast on lavapipe). One invocation writes 4 floats; with `texels`
// the copy is a texel array (common/texels.wgsl) instead of a buffer. With
// `vec4` (w a multiple of 4, so rows are whole vec4s) it reads them as the
// two vec4s they straddle rather than 4 bounds-checked floats.
#import index

struct Params {
    nc: u32,
    h: u32,
    w: u32,
    pad: u32,
    pitch: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
#ifdef vec4
@group(0) @binding(1) var<storage, read> x4: array<vec4<f32>>;
#else
@group(0) @binding(1) var<storage, read> x: array<f32>;
#endif
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
    var v = vec4<f32>(0.0);
#ifdef vec4
    if (yy < p.h) {
        // Input columns c0 .. c0 + 3 lie in the row's vec4s `first` (from
        // float `off`) and `first + 1`; vec4s off the row read as zeros.
        let c0 = i32((i % wp4) * 4u) - i32(p.pad);
        let off = u32(((c0 % 4) + 4) % 4);
        let first = (c0 - i32(off)) / 4;
        let row4 = (nc * p.h + yy) * (p.w / 4u);
        let a = chunk(row4, first);
        let b = chunk(row4, first + 1);
        switch off {
            case 0u: {
                v = a;
            }
            case 1u: {
                v = vec4<f32>(a.y, a.z, a.w, b.x);
            }
            case 2u: {
                v = vec4<f32>(a.z, a.w, b.x, b.y);
            }
            default: {
                v = vec4<f32>(a.w, b.x, b.y, b.z);
            }
        }
    }
#else
    let x0 = (i % wp4) * 4u - p.pad;
    if (yy < p.h) {
        let row = (nc * p.h + yy) * p.w;
        for (var j = 0u; j < 4u; j++) {
            let xx = x0 + j;
            if (xx < p.w) {
                v[j] = x[row + xx];
            }
        }
    }
#endif
#ifdef texels
    textureStore(y, texel_at(i), v);
#else
    y[i] = v;
#endif
}

#ifdef vec4
// Vec4 `c` of the row starting at vec4 `row4`, zeros off the row.
fn chunk(row4: u32, c: i32) -> vec4<f32> {
    if (c < 0 || u32(c) >= p.w / 4u) {
        return vec4<f32>(0.0);
    }
    return x4[row4 + u32(c)];
}
#endif
